"""Generation speed through the model host vs llama-cpp-python's Llama in this process.

Same model, settings and prompts, measured in one run, alternating rounds so that machine
noise hits both sides alike. Prints medians and the host/direct ratios (goal: >= 0.95).

    .venv/bin/python tests/bench/bench_host.py [--rounds 6] [--tokens 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.timing import timed_stream
from workbench.core.generation import GenerationRequest
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.engine.host.runtime import default_threads
from workbench.library.bundled import bundled_model_path

N_CTX = 2048
PAUSE_S = 0.5


def prompt_for(round_no: int) -> str:
    # A different opening each round: both sides evaluate the whole prompt (no cache hits).
    return (f"<|im_start|>user\nRound {round_no}. Tell me a long story about a lighthouse keeper "
            "who finds a message in a bottle.<|im_end|>\n<|im_start|>assistant\n")


def direct_run(llm: Llama, prompt: str, tokens: int) -> tuple[float, float, int]:
    run = timed_stream(lambda: llm.create_completion(
        prompt, max_tokens=tokens, temperature=0.0, top_k=1, repeat_penalty=1.0, stream=True),
        is_token=lambda _chunk: True)
    return run.first_token_s, run.tokens_per_s, run.count


def host_run(host: ModelHost, prompt: str, tokens: int) -> tuple[float, float, int]:
    request = GenerationRequest(prompt=prompt, sampling=GREEDY.with_(max_tokens=tokens))
    run = timed_stream(lambda: host.generate(request))
    return run.first_token_s, run.tokens_per_s, run.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    model = str(bundled_model_path())
    threads = default_threads()
    print(f"model {Path(model).name}, n_ctx {N_CTX}, threads {threads}, "
          f"{args.tokens} tokens x {args.rounds} rounds")

    llm = Llama(model_path=model, n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads,
                n_gpu_layers=0, verbose=False)
    # The same engine on both sides: llama-cpp-python's Llama runs without flash attention
    # and one sequence (the host's defaults are llama.cpp's auto and 4 parallel).
    host = ModelHost(LoadSettings(model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0,
                                  flash_attn="off", n_parallel=1),
                     logs_dir=Path(tempfile.mkdtemp()))
    host.start()
    direct_run(llm, prompt_for(-1), 16)  # warm-up both sides
    host_run(host, prompt_for(-1), 16)

    results: dict[str, list[tuple[float, float, int]]] = {"direct": [], "host": []}
    for round_no in range(args.rounds):
        prompt = prompt_for(round_no)
        # Alternate who goes first, and pause between sides: llama.cpp's worker threads keep
        # spinning briefly after a run and would slow whichever side runs right after.
        order = ("direct", "host") if round_no % 2 == 0 else ("host", "direct")
        for side in order:
            time.sleep(PAUSE_S)
            run = direct_run(llm, prompt, args.tokens) if side == "direct" else \
                host_run(host, prompt, args.tokens)
            results[side].append(run)
    host.close()

    medians = {}
    for side, runs in results.items():
        ttft = statistics.median(r[0] for r in runs)
        speed = statistics.median(r[1] for r in runs)
        medians[side] = (ttft, speed)
        print(f"{side:>6}: time to first token {ttft * 1000:7.1f} ms   "
              f"{speed:7.1f} tokens/s   ({runs[0][2]} tokens per run)")
    speed_ratio = medians["host"][1] / medians["direct"][1]
    ttft_ratio = medians["direct"][0] / medians["host"][0]
    print(f"host/direct generation speed: {speed_ratio:.3f}  (>= 0.95 wanted)")
    print(f"direct/host time-to-first-token: {ttft_ratio:.3f}  (1.0 = same latency)")


if __name__ == "__main__":
    main()
