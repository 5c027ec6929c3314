"""What a quantized KV cache (-ctk/-ctv q8_0, q4_0) does to memory and to answers.

On the bundled model, through the real model host, each KV type is loaded with flash attention
on (llama.cpp needs it for a quantized V cache) and measured against f16 (also with flash
attention on, so only the cache type differs):
* memory: the KV buffer llama.cpp reports in its log (and the fit's estimate beside it);
* greedy tokens: how many of each prompt's tokens match f16's before the first difference;
* perplexity: of a fixed text scored under a prompt (teacher forcing: exp of the mean
  negative log-likelihood per token).
The figures feed the fit's advice (library/offload.py, KV_QUANT_MEASURED).

    .venv/bin/python tests/bench/bench_kv_quant.py [--tokens 64]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from workbench.core.generation import GenerationRequest, ScoreRequest, TokenEvent
from workbench.core.model_info import LoadSettings, human_bytes
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.library.bundled import bundled_model_path
from workbench.library.fit import KVTypes, kv_cache_bytes
from workbench.library.gguf_metadata import read_gguf_info
from workbench.library.load_usage import load_usage

N_CTX = 2048
TYPES = ("f16", "q8_0", "q4_0")
PROMPTS = ("Explain why the sky is blue.", "Write a haiku about a lighthouse.",
           "List three uses of a paperclip.", "What is the capital of France? Answer briefly.",
           "Describe how a bicycle works.")
TEXT = ("The lighthouse keeper climbed the spiral stairs every evening to light the lamp. "
        "Ships passing the rocky coast relied on its beam to find their way safely into the "
        "harbour, and for forty years the light had never once failed. One stormy night, a "
        "message in a bottle washed up on the shore below the tower. The glass was green and "
        "scratched, and the cork had been sealed with red wax. Inside was a letter written in "
        "careful handwriting, asking whoever found it to travel to a small island to the north "
        "and look for a wooden box buried beneath the oldest tree. The keeper read the letter "
        "three times by the light of the lamp. He had never left the lighthouse for more than "
        "a day, but the next morning he asked his neighbour to watch the light, packed bread, "
        "cheese and a shovel, and rowed out across the grey water. The island was smaller than "
        "he expected, and the oldest tree was easy to find: a twisted oak whose roots gripped "
        "the rocks like fingers. He dug until the sun was low, and at last his shovel struck "
        "wood.")


def chat(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def greedy_tokens(host: ModelHost, prompt: str, tokens: int) -> list[int]:
    request = GenerationRequest(prompt=chat(prompt),
                                sampling=GREEDY.with_(max_tokens=tokens, ignore_eos=True))
    return [e.token_id for e in host.generate(request)
            if isinstance(e, TokenEvent) and e.token_id >= 0]


def same_prefix(a: list[int], b: list[int]) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    model = str(bundled_model_path())
    info = read_gguf_info(model)
    logs = Path(tempfile.mkdtemp())
    reference: list[list[int]] = []
    print(f"{Path(model).name}, n_ctx {N_CTX}, 1 sequence, flash attention on, "
          f"{len(PROMPTS)} prompts x {args.tokens} greedy tokens")
    for cache in TYPES:
        host = ModelHost(LoadSettings(model, n_ctx=N_CTX, n_gpu_layers=0, n_parallel=1,
                                      flash_attn="on", cache_type_k=cache, cache_type_v=cache),
                         logs_dir=logs)
        try:
            host.start()
            kv = load_usage(host.log_path, host.pid).kind_total("KV")
            runs = [greedy_tokens(host, p, args.tokens) for p in PROMPTS]
            scored = host.score(ScoreRequest(answer=TEXT, prompt=chat("Tell me a story.")))
        finally:
            host.close()
        reference = reference or runs
        agree = [same_prefix(r, run) for r, run in zip(reference, runs)]
        estimate = kv_cache_bytes(info, N_CTX, kv=KVTypes(cache, cache))
        print(f"{cache:>5}: KV {human_bytes(kv):>10} (fit's estimate {human_bytes(estimate)}), "
              f"perplexity {math.exp(scored.mean_nll):.3f} over {len(scored.tokens)} tokens, "
              f"greedy tokens equal to f16's before the first difference: {agree} "
              f"({sum(a == args.tokens for a in agree)}/{len(agree)} identical)")


if __name__ == "__main__":
    main()
