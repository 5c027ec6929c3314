"""The model host protocol on the real bundled model."""

from __future__ import annotations

import os

import pytest

from workbench.core.errors import HostRequestError
from workbench.core.generation import DoneEvent, GenerationRequest, TokenEvent
from workbench.core.messages import ChatMessage, conversation
from workbench.core.sampling import GREEDY, SamplingSettings


def chat(text: str, sampling: SamplingSettings = GREEDY, system: str | None = None):
    return GenerationRequest(messages=tuple(conversation(text, system)), sampling=sampling)


def test_metadata_describes_the_bundled_model(shared_host, bundled_model):
    meta = shared_host.metadata
    assert meta.architecture == "llama"
    assert 130_000_000 < meta.parameter_count < 140_000_000
    assert meta.quantization == "Q4_1"
    assert meta.context_length == 8192
    assert meta.n_ctx == 2048
    assert meta.n_layers == 30
    assert meta.vocab_size == 49152
    assert "<|im_start|>" in meta.chat_template
    assert meta.special_tokens.eos_text == "<|im_end|>"
    assert meta.file_size == bundled_model.stat().st_size
    assert shared_host.pid != os.getpid()  # llama.cpp lives in another process


def test_offload_is_reported_consistently(shared_host):
    meta = shared_host.metadata
    if not meta.offload_supported:
        assert meta.gpu_layers_requested == 0 and meta.gpu_layers_offloaded == 0
    else:
        assert 0 <= meta.gpu_layers_offloaded <= meta.n_layers + 1


def test_tokenize_round_trip(shared_host):
    text = "Prompt engineering: few-shot examples, naïve café ☕ and 12345."
    ids = shared_host.tokenize(text, add_special=False)
    assert len(ids) > 5
    assert shared_host.detokenize(ids) == text


def test_special_tokens_parse_to_single_ids(shared_host):
    ids = shared_host.tokenize("<|im_start|>user", add_special=False)
    assert ids[0] == shared_host.metadata.special_tokens.bos_id
    pairs = shared_host.tokenize_with_pieces("Hello world", add_special=False)
    assert [piece for _, piece in pairs] == ["Hello", " world"]


def test_render_uses_the_models_own_template(shared_host):
    text = shared_host.render([ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")])
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # The template adds SmolLM2's default system prompt when none is given.
    assert "SmolLM" in shared_host.render([ChatMessage("user", "Hi")])


def test_greedy_generation_is_deterministic(shared_host):
    request = chat("Name three colours.", GREEDY.with_(max_tokens=24))
    first = shared_host.generate(request).result()
    second = shared_host.generate(request).result()
    assert first.token_ids == second.token_ids
    assert first.text and first.text == second.text


def test_fixed_seed_reproduces_sampled_text(shared_host):
    sampling = SamplingSettings(temperature=1.0, max_tokens=24, seed=1234)
    a = shared_host.generate(chat("Write a word.", sampling)).result()
    b = shared_host.generate(chat("Write a word.", sampling)).result()
    assert a.token_ids == b.token_ids
    others = {shared_host.generate(chat("Write a word.", sampling.with_(seed=s))).result().token_ids
              for s in (1, 2, 3)}
    assert len(others | {a.token_ids}) > 1  # the seed matters


def test_event_stream(shared_host):
    stream = shared_host.generate(chat("Count from one to five.", GREEDY.with_(max_tokens=16,
                                                                                logprobs=3)))
    events = list(stream)
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert isinstance(events[-1], DoneEvent)
    assert all(not isinstance(e, DoneEvent) for e in events[:-1])
    done = events[-1]
    assert done.text == "".join(t.text for t in tokens)
    assert done.stats.completion_tokens == len(stream.token_ids) == len(tokens) == 16
    assert done.stats.finish_reason == "length"
    assert done.stats.time_to_first_token_s > 0
    assert done.stats.tokens_per_second > 0
    assert done.stats.prompt_tokens > 10
    for token in tokens:
        assert token.logprob is not None and token.logprob <= 0
        assert len(token.top_logprobs) == 3
        # Greedy picks the most likely token.
        assert token.logprob == pytest.approx(max(token.top_logprobs.values()))


def test_stop_strings_end_generation_and_are_not_shown(shared_host):
    request = chat("Count from one to ten.", GREEDY.with_(max_tokens=40))
    base = shared_host.generate(request).result()
    assert len(base.text) > 12
    middle = len(base.text) // 2
    stop = base.text[middle : middle + 3]
    expected = base.text[: base.text.index(stop)]
    stopped = shared_host.generate(
        GenerationRequest(messages=request.messages, sampling=request.sampling.with_(stop=(stop,)))
    )
    shown = "".join(e.text for e in stopped if isinstance(e, TokenEvent))
    assert stopped.done.stats.finish_reason == "stop"
    assert stopped.text == shown == expected  # nothing of the stop string leaked out


def test_raw_prompt_and_end_of_generation(shared_host):
    result = shared_host.generate(GenerationRequest(
        prompt="<|im_start|>user\nSay yes.<|im_end|>\n<|im_start|>assistant\n",
        sampling=GREEDY.with_(max_tokens=200))).result()
    assert result.stats.finish_reason in ("stop", "length")
    assert "<|im_end|>" not in result.text


def test_several_requests_at_once_share_the_prompt_prefix(shared_host):
    system = "You are a precise assistant. " * 20
    requests = [chat(q, GREEDY.with_(max_tokens=8), system=system)
                for q in ("What is 2+2?", "What is 3+3?", "What is 4+4?")]
    streams = shared_host.generate_many(requests)
    results = [s.result() for s in streams]
    assert all(r.text for r in results)
    # The second and third reuse the long system prompt evaluated for the first.
    assert results[1].stats.cached_prompt_tokens > 100
    assert results[2].stats.cached_prompt_tokens > 100
    # Sharing work does not change the answers.
    alone = shared_host.generate(requests[1]).result()
    assert alone.token_ids == results[1].token_ids


def test_prompt_longer_than_the_context_is_refused(shared_host):
    long_text = "word " * 3000
    with pytest.raises(HostRequestError, match="context window holds 2048"):
        shared_host.generate(chat(long_text)).result()
    # The host is still fine afterwards.
    assert shared_host.generate(chat("Hi", GREEDY.with_(max_tokens=4))).result().text
