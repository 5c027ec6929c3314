"""``python -m workbench.engine.quantlab.measure SPEC.json``: one arm of the quantization lab.

Loads one GGUF file with one set of engine settings and measures, in this process (so its peak
memory is the model's own, and a crash or cancel ends only this child):

* memory: the peak resident memory (``_rss``) after load and a warm-up decode minus before
  load, and the whole peak;
* speed as llama-bench measures it: ``pp`` random tokens evaluated in batches (prompt tokens/s)
  and ``tg`` tokens decoded one at a time (decode tokens/s), each ``repeats`` times after a
  warm-up, mean ± sample sd;
* token distributions over the texts, each evaluated whole in one batch from an empty cache
  (as ``Llama(logits_all=True).eval`` does): written as the reference's top-K (``write``), or
  compared with a reference's (kld.py).

SPEC.json: {"model", "engine": {flash_attn, cache_type_k, cache_type_v, n_gpu_layers},
"n_ctx", "pp", "tg", "repeats", "top_k", "texts": [str], "reference": npz or null,
"write_reference": npz or null, "seed"}.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from .child_io import open_channel, quiet_llama_log, send
from .kld import DEFAULT_TOP_K, Reference, divergence, reference_from_logits, summarise

ROWS = 64  # logits rows turned into float64 at once (a 500-token text is 200 MB as float64)
N_BATCH = 512  # llama-cpp-python's default: the texts are evaluated as Llama would


def _rss() -> int:
    """This process's peak resident memory, in bytes.

    Linux: VmHWM, the high-water mark of this process's own address space. ``ru_maxrss`` is
    not used there: execve keeps the parent's peak in it (the GUI's or pytest's hundreds of
    MB), so "after load minus before" read 0 for small models."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


class Arm:
    def __init__(self, spec: dict):
        import llama_cpp
        from llama_cpp import _internals

        from ..host.runtime import CACHE_TYPES, FLASH_ATTN  # the model host's own tables

        self.llama = llama_cpp
        self.spec = spec
        engine = spec.get("engine") or {}
        model_params = llama_cpp.llama_model_default_params()
        layers = engine.get("n_gpu_layers")
        if layers is None:
            layers = -1 if llama_cpp.llama_supports_gpu_offload() else 0
        model_params.n_gpu_layers = layers
        self.model = _internals.LlamaModel(path_model=spec["model"], params=model_params,
                                           verbose=False)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = int(spec.get("n_ctx", 1024))
        params.n_batch = params.n_ubatch = N_BATCH
        threads = int(spec.get("threads") or 0) or max(1, min(8, _cpus()))
        params.n_threads = params.n_threads_batch = threads
        params.flash_attn_type = FLASH_ATTN[engine.get("flash_attn", "off")]
        params.type_k = CACHE_TYPES[engine.get("cache_type_k", "f16")]
        params.type_v = CACHE_TYPES[engine.get("cache_type_v", "f16")]
        self.context = _internals.LlamaContext(model=self.model, params=params, verbose=False)
        self.n_ctx = int(self.context.n_ctx())
        self.n_vocab = int(self.model.n_vocab())
        self.batch = _internals.LlamaBatch(n_tokens=N_BATCH, embd=0, n_seq_max=1)

    def clear(self) -> None:
        self.context.kv_cache_seq_rm(-1, 0, -1)

    def decode(self, tokens: list[int], n_past: int, all_logits: bool) -> float:
        """Seconds spent in llama_decode for ``tokens`` (in batches of N_BATCH)."""
        seconds = 0.0
        for start in range(0, len(tokens), N_BATCH):
            chunk = tokens[start:start + N_BATCH]
            self.batch.set_batch(chunk, n_past + start, all_logits)
            began = time.perf_counter()
            self.context.decode(self.batch)
            self.llama.llama_synchronize(self.context.ctx)
            seconds += time.perf_counter() - began
        return seconds

    def logits(self, tokens: list[int]) -> np.ndarray:
        """All positions' logits of one text evaluated whole from an empty cache."""
        self.clear()
        self.batch.set_batch(tokens, 0, True)
        self.context.decode(self.batch)
        pointer = self.context.get_logits()
        return np.ctypeslib.as_array(pointer, shape=(len(tokens), self.n_vocab)).copy()

    def tokenize(self, text: str) -> list[int]:
        # special=True: a suite text rendered through the chat template holds the template's
        # markers (<|im_start|> …) as text; they must become the model's control tokens.
        return self.model.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def speed(self, pp: int, tg: int, repeats: int, seed: int) -> dict:
        rng = random.Random(seed)
        vocab = self.n_vocab
        # Warm-up, as llama-bench does: the first decode pays for allocations and page faults.
        self.clear()
        self.decode([rng.randrange(vocab) for _ in range(min(pp, 32) or 1)], 0, False)
        pp_rates, tg_rates = [], []
        for repeat in range(repeats):
            send("progress", message=f"speed, repeat {repeat + 1}/{repeats}",
                 done=repeat, total=repeats)
            if pp:
                self.clear()
                tokens = [rng.randrange(vocab) for _ in range(pp)]
                pp_rates.append(pp / self.decode(tokens, 0, False))
            if tg:
                self.clear()
                seconds = sum(self.decode([rng.randrange(vocab)], position, True)
                              for position in range(tg))
                tg_rates.append(tg / seconds)
        return {"pp": pp, "tg": tg, "repeats": repeats, **_stats("pp_tps", pp_rates),
                **_stats("tg_tps", tg_rates)}


def _stats(name: str, values: list[float]) -> dict:
    if not values:
        return {f"{name}_mean": None, f"{name}_sd": None}
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {f"{name}_mean": statistics.fmean(values), f"{name}_sd": sd, f"{name}_all": values}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _texts(arm: Arm, spec: dict, reference: Reference | None) -> list[list[int]]:
    """The reference's own tokens when there is one (every arm reads the same positions)."""
    if reference is not None and reference.tokens is not None:
        texts = np.split(reference.tokens, np.cumsum(reference.text_lengths)[:-1])
        return [[int(t) for t in text] for text in texts]
    limit = min(arm.n_ctx, N_BATCH)
    token_lists = [arm.tokenize(text)[:limit] for text in spec.get("texts") or []]
    return [tokens for tokens in token_lists if len(tokens) > 1]


def _read(arm: Arm, token_lists: list[list[int]], reference: Reference | None,
          top_k: int) -> tuple[list, list, list]:
    """One pass over the texts: top-K summaries (no reference) or per-position KL and
    same-top flags against the reference."""
    parts, kls, sames = [], [], []
    offset = 0
    for number, tokens in enumerate(token_lists):
        send("progress", message=f"token distributions, text {number + 1}/{len(token_lists)}",
             done=number, total=len(token_lists))
        logits = arm.logits(tokens)
        for start in range(0, len(tokens), ROWS):
            rows = logits[start:start + ROWS]
            if reference is None:
                parts.append(reference_from_logits(rows, top_k))
            else:
                kl, same = divergence(reference.rows(offset + start, len(rows)), rows)
                kls.append(kl)
                sames.append(same)
        offset += len(tokens)
    return parts, kls, sames


def distributions(arm: Arm, spec: dict) -> dict:
    """The reference pass (write its top-K; with ``compare_self`` then read the texts again
    and compare, as any arm does) or an arm's pass (compare with the reference)."""
    top_k = int(spec.get("top_k") or DEFAULT_TOP_K)
    reference = Reference.load(Path(spec["reference"])) if spec.get("reference") else None
    token_lists = _texts(arm, spec, reference)
    result: dict = {"texts": len(token_lists), "positions": sum(map(len, token_lists))}
    if reference is None:
        parts, _, _ = _read(arm, token_lists, None, top_k)
        if not parts or not spec.get("write_reference"):
            return result
        written = Reference.concat(parts)
        written.text_lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
        written.tokens = np.array([t for tokens in token_lists for t in tokens], dtype=np.int32)
        written.save(Path(spec["write_reference"]))
        result["reference"] = spec["write_reference"]
        if not spec.get("compare_self"):
            return result
        reference = Reference.load(Path(spec["write_reference"]))
    _, kls, sames = _read(arm, token_lists, reference, top_k)
    if kls:
        result.update(summarise(np.concatenate(kls), np.concatenate(sames)))
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    open_channel()
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    import llama_cpp

    llama_cpp.llama_backend_init()
    quiet_llama_log()
    before = _rss()
    send("progress", message="loading")
    try:
        arm = Arm(spec)
    except Exception as error:  # noqa: BLE001 - llama.cpp says only "failed to load"
        send("error", message=f"llama.cpp could not load {spec['model']} with these engine "
                              f"settings: {error}")
        return 1
    arm.clear()
    arm.decode(arm.tokenize("Hello")[:8] or [1], 0, False)
    loaded = _rss()
    result: dict = {"model": spec["model"], "size": Path(spec["model"]).stat().st_size,
                    "memory": loaded - before, "n_ctx": arm.n_ctx}
    if spec.get("texts") or spec.get("reference"):
        result.update(distributions(arm, spec))
    pp, tg = int(spec.get("pp", 512)), int(spec.get("tg", 128))
    if pp or tg:  # the reference pass reads distributions only
        result.update(arm.speed(pp, tg, max(1, int(spec.get("repeats", 3))),
                                int(spec.get("seed", 0))))
    result["peak_total"] = _rss()
    send("result", **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
