"""The token inspector's engine, on the real bundled model, checked against llama.cpp itself.

Reference numbers come from llama-cpp-python's own ``Llama`` (``logits_all=True``), fed the
same tokens in the same cut as the host feeds them (the prompt in 64-token chunks aligned to
position 0, each generated token on its own): llama.cpp's CPU kernels give a batch of
positions slightly different logits than one position at a time, so only the same cut can be
compared to 1e-4. Flash attention is off on both sides (``Llama``'s default).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from workbench.core.errors import HostRequestError
from workbench.core.generation import GenerationRequest, ScoreRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY, SamplingSettings
from workbench.engine.host.client import ModelHost

CHUNK = 64
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def host(bundled_model, tmp_path_factory):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=1024, n_parallel=2,
                                  flash_attn="off"),
                     logs_dir=tmp_path_factory.mktemp("logs"))
    host.start()
    yield host
    host.close()


@pytest.fixture(scope="module")
def reference(bundled_model):
    """llama.cpp in this process, through llama-cpp-python: logits of every position."""
    import llama_cpp

    llm = llama_cpp.Llama(str(bundled_model), n_ctx=512, n_batch=CHUNK, n_ubatch=CHUNK,
                          logits_all=True, flash_attn=False, verbose=False)
    yield llm
    llm.close()


def reference_logprobs(llm, prompt: list[int], tokens: list[int], *, singly: bool) -> np.ndarray:
    """log_softmax of llama.cpp's logits at every position of prompt + tokens (row p is the
    distribution of the token at p + 1). ``singly``: the tokens are fed one at a time, as a
    generation feeds them; else with the prompt, in the same aligned chunks."""
    llm.reset()
    llm.eval(prompt if singly else prompt + tokens)
    if singly:
        for token in tokens:
            llm.eval([token])
    rows = np.array(llm.scores[: len(prompt) + len(tokens)], dtype=np.float64)
    peak = rows.max(axis=1, keepdims=True)
    return rows - peak - np.log(np.exp(rows - peak).sum(axis=1, keepdims=True))


def chat(text, sampling, system=None, forced=()):
    return GenerationRequest(messages=tuple(conversation(text, system)), sampling=sampling,
                             forced_tokens=tuple(forced))


def generate(host, request):
    stream = host.generate(request)
    events = [e for e in stream if isinstance(e, TokenEvent)]
    return stream, events


def prompt_ids(host, request) -> list[int]:
    return host.tokenize(host.render(list(request.messages)))


@pytest.mark.parametrize("sampling", [
    GREEDY.with_(max_tokens=48, logprobs=5),
    SamplingSettings(temperature=0.9, seed=11, max_tokens=48, logprobs=5),
    SamplingSettings(temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, seed=3, max_tokens=48,
                     logprobs=20),
], ids=["greedy", "seeded", "wide"])
def test_each_logprob_is_log_softmax_of_the_logits_at_the_previous_position(
        host, reference, sampling):
    request = chat("Write a short poem about the sea.", sampling, system="Be brief.")
    stream, events = generate(host, request)
    tokens = [e for e in events if e.token_id >= 0]
    ids = [e.token_id for e in tokens]
    prompt = prompt_ids(host, request)
    assert stream.done.stats.prompt_tokens == len(prompt) and len(ids) > 20
    expected = reference_logprobs(reference, prompt, ids, singly=True)
    for i, event in enumerate(tokens):
        row = expected[len(prompt) - 1 + i]  # position i − 1: what token i was chosen from
        assert event.logprob == pytest.approx(row[event.token_id], abs=TOLERANCE), i
        best = np.argsort(-row, kind="stable")[:sampling.logprobs]
        assert [a.token_id for a in event.alternatives] == list(best), i
        for alternative in event.alternatives:
            assert alternative.logprob == pytest.approx(row[alternative.token_id],
                                                        abs=TOLERANCE)
        assert set(event.top_logprobs) <= {a.text for a in event.alternatives}
    # The off-by-one llama-cpp-python once had (its issue #1983) reads the logits at position
    # i: that would be far off, so the comparison above can tell the two apart.
    shifted = [abs(expected[len(prompt) + i][e.token_id] - e.logprob)
               for i, e in enumerate(tokens[:-1])]
    assert max(shifted) > 0.5


def test_a_greedy_token_is_the_best_alternative_and_sampled_ones_need_not_be(host):
    greedy = [e for e in generate(host, chat("Name a colour.", GREEDY.with_(
        max_tokens=12, logprobs=3)))[1] if e.token_id >= 0]
    assert all(e.alternatives[0].token_id == e.token_id for e in greedy)
    hot = SamplingSettings(temperature=2.0, top_k=0, top_p=1.0, min_p=0.0, seed=5,
                           max_tokens=40, logprobs=1)
    sampled = [e for e in generate(host, chat("Name a colour.", hot))[1] if e.token_id >= 0]
    assert any(e.alternatives[0].token_id != e.token_id for e in sampled)


@pytest.mark.parametrize("text", ["Ünïcödé café, naïve façade, smörgåsbord",
                                  "東京タワーと富士山",
                                  "I ❤️ 🍕 and 👨‍👩‍👧 🇫🇷"])
def test_the_pieces_join_to_the_exact_bytes_of_the_text(host, text):
    request = chat(f"Repeat exactly, nothing else: {text}",
                   GREEDY.with_(max_tokens=60, logprobs=2))
    stream, events = generate(host, request)
    streamed = "".join(e.text for e in events)
    assert all(e.piece is not None for e in events)
    joined, data = b"".join(e.piece for e in events), streamed.encode("utf-8")
    if stream.done.stats.finish_reason == "length" and joined != data:
        # Cut off mid-character: the bytes hold the character's start, the text cannot.
        tail = joined[len(data):]
        assert joined.startswith(data) and 0 < len(tail) < 4 and not _utf8(tail)
    else:
        assert joined == data
    assert stream.trace().data == joined and stream.trace().ids == tuple(stream.token_ids)
    # The model repeated some of it, so some characters span several tokens: a piece
    # that is not UTF-8 on its own (the streamed text of such a token is empty).
    assert any(ch in streamed for ch in text if ord(ch) > 127)
    assert any(not _utf8(e.piece) for e in events)
    # The alternatives are bytes too, and pieces() answers the same bytes for the same ids.
    assert host.pieces(stream.token_ids) == [e.piece for e in events if e.token_id >= 0]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_pieces_spell_out_special_tokens_and_refuse_unknown_ids(host):
    ids = host.tokenize("<|im_start|>user\nHello world<|im_end|>", add_special=False)
    pieces = host.pieces(ids)
    assert pieces[0] == b"<|im_start|>" and pieces[-1] == b"<|im_end|>"
    assert b"".join(pieces) == b"<|im_start|>user\nHello world<|im_end|>"
    assert host.pieces([]) == []
    with pytest.raises(HostRequestError, match="Token id 999999 is not in this model's "
                                               "vocabulary"):
        host.pieces([19556, 999999])


def test_a_branch_continues_with_the_forced_tokens_then_as_greedy_would(host, reference):
    sampling = GREEDY.with_(max_tokens=30, logprobs=5)
    request = chat("What is the capital of France?", sampling, system="Answer briefly.")
    original = [e for e in generate(host, request)[1] if e.token_id >= 0]
    ids = [e.token_id for e in original]

    # Forcing the greedy run's own first tokens changes nothing: same tokens, same numbers.
    replay = [e for e in generate(host, chat("What is the capital of France?", sampling,
                                             "Answer briefly.", forced=ids[:3]))[1]
              if e.token_id >= 0]
    assert [e.token_id for e in replay] == ids
    assert [e.forced for e in replay] == [True] * 3 + [False] * (len(ids) - 3)
    assert [e.logprob for e in replay] == [e.logprob for e in original]

    # A branch at position 2: the second-best alternative there.
    alternative = original[2].alternatives[1]
    forced = ids[:2] + [alternative.token_id]
    stream, events = generate(host, chat("What is the capital of France?", sampling,
                                         "Answer briefly.", forced=forced))
    branch = [e for e in events if e.token_id >= 0]
    assert [e.token_id for e in branch[:3]] == forced and branch[3].token_id is not None
    assert [e.forced for e in branch[:4]] == [True, True, True, False]
    assert branch[2].logprob == pytest.approx(alternative.logprob, abs=1e-6)
    assert branch[2].piece == alternative.piece
    assert [e.token_id for e in branch] != ids
    # Then greedy: each token after the branch is the argmax of llama.cpp's logits for the
    # branch's own prefix, computed here from scratch.
    prompt = prompt_ids(host, request)
    continued = [e.token_id for e in branch]
    expected = reference_logprobs(reference, prompt, continued, singly=True)
    for i in range(3, len(continued)):
        assert continued[i] == int(np.argmax(expected[len(prompt) - 1 + i])), i
    assert stream.done.stats.completion_tokens == len(branch)


def test_a_branch_is_refused_for_unknown_ids_and_under_a_grammar(host):
    with pytest.raises(HostRequestError, match="not in this model's vocabulary"):
        host.generate(chat("Hi", GREEDY.with_(max_tokens=4), forced=[10**7])).result()
    grammar = 'root ::= "yes" | "no"'
    with pytest.raises(HostRequestError, match="cannot force tokens under a grammar"):
        host.generate(chat("Hi", GREEDY.with_(max_tokens=4, grammar=grammar),
                           forced=[19556])).result()


def score_request(answer="Paris is the capital of France.", top_k=5):
    return ScoreRequest(answer=answer, messages=tuple(conversation(
        "What is the capital of France?", "Answer briefly.")), top_k=top_k)


def test_scoring_gives_llama_cpp_logprobs_of_each_answer_token(host, reference):
    request = score_request()
    result = host.score(request)
    generation = GenerationRequest(messages=request.messages, sampling=GREEDY.with_(max_tokens=1))
    prompt = prompt_ids(host, generation)
    answer = host.tokenize(request.answer, add_special=False, parse_special=False)
    assert result.prompt_tokens == len(prompt)  # the prompt generate renders
    assert host.generate(generation).result().stats.prompt_tokens == len(prompt)
    assert [t.token_id for t in result.tokens] == answer
    assert b"".join(t.piece for t in result.tokens) == request.answer.encode()
    expected = reference_logprobs(reference, prompt, answer, singly=False)
    for i, token in enumerate(result.tokens):
        row = expected[len(prompt) - 1 + i]
        assert token.logprob == pytest.approx(row[token.token_id], abs=TOLERANCE), i
        assert [a.token_id for a in token.top] == list(np.argsort(-row, kind="stable")[:5])
    assert result.total_nll == pytest.approx(-sum(t.logprob for t in result.tokens))
    assert 1.0 < result.perplexity < 100.0
    position, least = result.least_likely(1)[0]
    assert least.logprob == min(t.logprob for t in result.tokens)


def test_scoring_twice_gives_identical_numbers_and_likely_answers_score_better(host):
    first = host.score(score_request())
    host.generate(chat("Tell me about Paris.", GREEDY.with_(max_tokens=20))).result()
    assert host.score(score_request()) == first
    unlikely = host.score(score_request("Purple elephants compute the moon's taxes."))
    assert unlikely.perplexity > first.perplexity


def test_scoring_never_disturbs_a_generation(host):
    request = chat("Write a haiku about the sea.", GREEDY.with_(max_tokens=40),
                   system="Answer briefly.")
    before = host.generate(request).result()
    # A score that shares the generation's prompt runs while the generation decodes.
    stream = host.generate(request)
    scored: list = []
    thread = threading.Thread(target=lambda: scored.append(host.score(ScoreRequest(
        answer=before.text, messages=request.messages, top_k=3))))
    thread.start()
    during = stream.result()
    thread.join(120)
    after = host.generate(request).result()
    assert during.text.encode() == before.text.encode() == after.text.encode()
    assert during.token_ids == before.token_ids == after.token_ids
    assert scored and len(scored[0].tokens) > 5


def test_scoring_refuses_what_it_cannot_score(host):
    with pytest.raises(HostRequestError, match="The answer to score is empty"):
        host.score(score_request(answer=""))
    with pytest.raises(HostRequestError, match="do not fit together in the context window"):
        host.score(score_request(answer="word " * 1200))


def test_a_remote_model_says_it_cannot_score_or_show_pieces():
    from workbench_plugins.openai_compat.client import OpenAIModel, RemoteError

    remote = OpenAIModel("http://127.0.0.1:9/v1")  # never contacted: both refuse up front
    with pytest.raises(RemoteError, match="cannot score an answer"):
        remote.score(score_request())
    with pytest.raises(RemoteError, match="does not offer token pieces"):
        remote.pieces([1, 2])
