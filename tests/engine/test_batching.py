"""Continuous batching in the model host, on the real bundled model.

The promise (docs/engine.md): a request decoded beside others gives exactly the tokens it gives
alone — greedy or seeded — because every sequence has its own KV stream, its own sampler and
the same prompt chunking. These tests hold the host to it.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tests.fixtures.tiny_lora import write_lora
from workbench.core.errors import HostRequestError, ModelFileError, ModelProcessDied
from workbench.core.generation import GenerationRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.model_info import AdapterSpec, LoadSettings
from workbench.core.sampling import GREEDY, SamplingSettings
from workbench.engine.host.client import ModelHost

QUESTIONS = ("What is the capital of France?", "Write a haiku about the sea.",
             "Explain recursion to a child.", "List three prime numbers.", "What is a prompt?",
             "Translate 'good morning' to Spanish.", "Why is the sky blue?",
             "Give me a name for a cat.")


SHORT_GREEDY = GREEDY.with_(max_tokens=40)


def chat(text, sampling=SHORT_GREEDY, system=None, adapters=None):
    return GenerationRequest(messages=tuple(conversation(text, system)), sampling=sampling,
                             adapters=adapters)


@pytest.fixture(scope="module")
def batch_host(bundled_model, tmp_path_factory):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=1024, n_parallel=4),
                     logs_dir=tmp_path_factory.mktemp("logs"))
    host.start()
    yield host
    host.close()


def consume_together(streams):
    """Read all streams at once, as the comparison grid does (one thread each)."""
    results = [None] * len(streams)

    def read(i):
        results[i] = streams[i].result()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_the_status_reports_the_parallel_sequences(batch_host):
    engine = batch_host.metadata.engine
    assert engine["n_parallel"] == 4
    assert engine["kv_unified"] is False
    assert engine["flash_attn"] in ("auto→on", "auto→off")
    assert batch_host.metadata.n_ctx == 1024  # each sequence has the whole window


def test_batched_greedy_equals_each_request_alone(batch_host):
    requests = [chat(q) for q in QUESTIONS]  # 8 requests through 4 slots: they join and leave
    together = consume_together(batch_host.generate_many(requests))
    alone = [batch_host.generate(r).result() for r in requests]
    same = sum(a.token_ids == b.token_ids for a, b in zip(together, alone))
    assert same == len(requests), f"{same} of {len(requests)} equal"
    assert len({r.text for r in together}) == len(requests)


def test_seeded_sampling_in_a_batch_equals_alone(batch_host):
    sampling = SamplingSettings(temperature=1.0, max_tokens=30, seed=77)
    requests = [chat(q, sampling) for q in QUESTIONS[:4]]
    together = consume_together(batch_host.generate_many(requests))
    for request, result in zip(requests, together):
        assert batch_host.generate(request).result().token_ids == result.token_ids


def test_a_shared_prefix_is_computed_once_and_copied(batch_host):
    system = "You are a careful assistant who answers in one short sentence. " * 12
    requests = [chat(q, GREEDY.with_(max_tokens=8), system=system) for q in QUESTIONS[:4]]
    together = consume_together(batch_host.generate_many(requests))
    cached = sorted(r.stats.cached_prompt_tokens for r in together)
    assert cached[-1] >= 128  # later sequences took the system prompt from the first's stream
    for request, result in zip(requests, together):
        assert batch_host.generate(request).result().token_ids == result.token_ids


def test_cancelling_one_sequence_leaves_its_neighbours_whole(batch_host):
    requests = [chat(q, GREEDY.with_(max_tokens=60)) for q in QUESTIONS[:3]]
    alone = [batch_host.generate(r).result() for r in requests]
    streams = batch_host.generate_many(requests)
    victim = streams[1]
    for event in victim:
        if isinstance(event, TokenEvent):
            victim.cancel()
            break
    results = consume_together(streams)
    assert results[1].stats.finish_reason == "cancelled"
    assert len(results[1].token_ids) < len(alone[1].token_ids)
    assert results[0].token_ids == alone[0].token_ids
    assert results[2].token_ids == alone[2].token_ids


def test_adapter_and_base_requests_in_flight_together_each_get_their_own(batch_host, tmp_path):
    strong = write_lora(tmp_path / "strong.gguf", strength=3.0)
    adapted = (AdapterSpec(str(strong), 1.0),)
    requests = [chat(QUESTIONS[0]), chat(QUESTIONS[0], adapters=adapted), chat(QUESTIONS[1]),
                chat(QUESTIONS[1], adapters=adapted)]
    together = consume_together(batch_host.generate_many(requests))
    alone = [batch_host.generate(r).result() for r in requests]
    assert [r.token_ids for r in together] == [r.token_ids for r in alone]
    assert together[0].token_ids != together[1].token_ids


def test_ignore_eos_always_gives_max_tokens(batch_host):
    short = batch_host.generate(chat("Say yes.", GREEDY.with_(max_tokens=80))).result()
    assert short.stats.finish_reason == "stop" and len(short.token_ids) < 80
    full = batch_host.generate(chat("Say yes.", GREEDY.with_(max_tokens=80, ignore_eos=True)))
    assert len(full.result().token_ids) == 80 and full.result().stats.finish_reason == "length"


def test_a_grammar_constrains_the_answer(batch_host):
    grammar = 'root ::= ("yes" | "no") "."'
    result = batch_host.generate(chat("Is water wet?", SamplingSettings(
        temperature=1.0, seed=3, max_tokens=10, grammar=grammar))).result()
    assert result.text in ("yes.", "no.")
    with pytest.raises(HostRequestError, match="grammar"):
        batch_host.generate(chat("Hi", GREEDY.with_(grammar="root ::= ((("))).result()


def test_a_host_killed_mid_batch_fails_every_sequence_and_keeps_each_partial_text(
        bundled_model, tmp_path):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, n_parallel=3),
                     logs_dir=tmp_path / "logs")
    host.start()
    try:
        streams = host.generate_many([chat(q, GREEDY.with_(max_tokens=400))
                                      for q in ("Write a long story about a dragon.",
                                                "Write a long story about a ship.",
                                                "Write a long story about a city.")])
        iterators = []
        for stream in streams:  # every sequence has produced text before the kill
            iterator = iter(stream)
            for event in iterator:
                if isinstance(event, TokenEvent) and event.text:
                    break
            iterators.append(iterator)
        os.kill(host.pid, signal.SIGKILL)
        for stream, iterator in zip(streams, iterators):
            with pytest.raises(ModelProcessDied) as caught:
                for _ in iterator:
                    pass
            assert "SIGKILL" in str(caught.value)
            assert caught.value.partial_text and caught.value.partial_text == stream.text
    finally:
        host.close()


def test_engine_settings_load_and_bad_combinations_are_named(bundled_model, tmp_path):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, n_parallel=2, flash_attn="on",
                                  cache_type_k="q8_0", cache_type_v="q8_0", n_batch=256,
                                  n_ubatch=128), logs_dir=tmp_path / "logs")
    try:
        engine = host.start().engine
        assert engine == {**engine, "flash_attn": "on", "cache_type_k": "q8_0",
                          "cache_type_v": "q8_0", "n_batch": 256, "n_ubatch": 128,
                          "n_parallel": 2}
        assert host.generate(chat("Say hi.", GREEDY.with_(max_tokens=4))).result().text
    finally:
        host.close()
    bad = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, flash_attn="off",
                                 cache_type_v="q4_0"), logs_dir=tmp_path / "logs")
    with pytest.raises(ModelFileError, match="quantized V cache requires flash_attn"):
        bad.start()
    with pytest.raises(ValueError, match="flash attention must be one of"):
        LoadSettings(str(bundled_model), flash_attn="maybe")


def test_greedy_is_llama_cpp_greedy(bundled_model, tmp_path):
    """temperature 0 with the default settings is the model's greedy answer: the same tokens
    llama-cpp-python's own greedy decoding gives (the old default repeat penalty of 1.1 made
    the 12th token of this answer differ)."""
    import llama_cpp
    from llama_cpp import Llama

    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, flash_attn="off"),
                     logs_dir=tmp_path / "logs")
    try:
        messages = tuple(conversation("What is the capital of France?"))
        text = host.render(messages)  # with SmolLM2's default system prompt
        ours = host.generate(GenerationRequest(
            messages=messages, sampling=SamplingSettings(temperature=0.0, max_tokens=60))).result()
    finally:
        host.close()
    llm = Llama(str(bundled_model), n_ctx=512, verbose=False, flash_attn=False)
    theirs = []
    for token in llm.generate(llm.tokenize(text.encode(), special=True), temp=0.0,
                              repeat_penalty=1.0):
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token) or len(theirs) == 60:
            break
        theirs.append(token)
    llm.close()
    assert SamplingSettings().repeat_penalty == 1.0
    assert list(ours.token_ids) == theirs and len(theirs) >= 12
