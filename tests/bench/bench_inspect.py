"""What the token inspector costs, through the model host (issue 13's goals).

1. Decode speed with log-probabilities captured (k = 5 alternatives a token) ÷ without
   (goal ≥ 0.9): greedy, ``--ignore-eos``, tokens/s from the first to the last token as the
   caller receives them.
2. Scoring a 200-token answer vs one llama.cpp prompt evaluation of the same length (goal
   ≥ 0.8): ``ModelHost.score`` (top-5 alternatives a token) against a generation of one token
   whose prompt is the same prompt + answer text — the time to read that many tokens.

Rounds alternate the two sides so that machine noise hits both alike; each round opens with
a different word, so no prompt is served from the cache. Prints medians and the ratios.

    .venv/bin/python tests/bench/bench_inspect.py [--rounds 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.timing import real_token, timed_stream
from workbench.core.generation import GenerationRequest, ScoreRequest
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.library.bundled import bundled_model_path

N_CTX = 2048
ANSWER_TOKENS = 200
WORDS = ("Amber", "Birch", "Cedar", "Delta", "Ember", "Fjord", "Grove", "Harbor", "Inlet",
         "Juniper", "Kestrel", "Lagoon")


def story_prompt(round_no: int) -> str:
    return (f"<|im_start|>user\n{WORDS[round_no % len(WORDS)]} {round_no}. Tell me a long story "
            "about a lighthouse keeper who finds a message in a bottle.<|im_end|>\n"
            "<|im_start|>assistant\n")


def decode_speed(host: ModelHost, prompt: str, tokens: int, logprobs: int) -> float:
    request = GenerationRequest(prompt=prompt, sampling=GREEDY.with_(
        max_tokens=tokens, ignore_eos=True, logprobs=logprobs))

    def captured(event) -> bool:
        """A token, carrying its log-probability exactly when they were asked for."""
        if not real_token(event):
            return False
        assert (event.logprob is not None) == (logprobs > 0)
        return True

    return timed_stream(lambda: host.generate(request), captured).tokens_per_s


def answer_text(host: ModelHost) -> str:
    """Ordinary prose, cut to exactly ANSWER_TOKENS tokens."""
    prose = ("The keeper climbed the stairs each evening, lit the lamp and watched the sea. "
             "One morning a bottle lay on the rocks below, and inside it a letter written in "
             "a careful hand, asking whoever found it to answer. He read it many times. ") * 8
    ids = host.tokenize(prose, add_special=False)[:ANSWER_TOKENS]
    return host.detokenize(ids)


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    model = str(bundled_model_path())
    host = ModelHost(LoadSettings(model, n_ctx=N_CTX), logs_dir=Path(tempfile.mkdtemp()))
    meta = host.start()
    print(f"model {Path(model).name}, engine {meta.engine}, rounds {args.rounds}")

    decode_speed(host, story_prompt(100), 16, 5)  # warm-up
    plain, captured = [], []
    for r in range(args.rounds):
        sides = [(plain, 0), (captured, 5)]
        for results, k in (sides if r % 2 == 0 else sides[::-1]):
            results.append(decode_speed(host, story_prompt(2 * r + (k > 0)), args.tokens, k))
    decode_ratio = statistics.median(captured) / statistics.median(plain)
    print(f"decode, {args.tokens} tokens: without logprobs {statistics.median(plain):.1f} tok/s, "
          f"with k=5 {statistics.median(captured):.1f} tok/s -> ratio {decode_ratio:.3f} "
          f"(goal >= 0.9)")

    answer = answer_text(host)
    scored_tokens = prompt_tokens = 0
    scoring, reading = [], []
    for r in range(args.rounds):
        lead = f"<|im_start|>user\n{WORDS[r % len(WORDS)]} {r}. Go on.<|im_end|>\n"

        def score(r=r, lead=lead):
            nonlocal scored_tokens
            result = host.score(ScoreRequest(answer=answer, prompt=f"S{lead}", top_k=5))
            scored_tokens = result.prompt_tokens + len(result.tokens)

        def read(r=r, lead=lead):
            nonlocal prompt_tokens
            done = host.generate(GenerationRequest(
                prompt=f"P{lead}{answer}", sampling=GREEDY.with_(max_tokens=1))).result()
            prompt_tokens = done.stats.prompt_tokens

        sides = [(scoring, score), (reading, read)]
        for results, call in (sides if r % 2 == 0 else sides[::-1]):
            results.append(timed(call))
    score_ratio = statistics.median(reading) / statistics.median(scoring)
    print(f"scoring a {ANSWER_TOKENS}-token answer ({scored_tokens} tokens fed): "
          f"{statistics.median(scoring) * 1000:.0f} ms; one prompt evaluation of "
          f"{prompt_tokens} tokens: {statistics.median(reading) * 1000:.0f} ms -> speed ratio "
          f"{score_ratio:.3f} (goal >= 0.8)")
    host.close()


if __name__ == "__main__":
    main()
