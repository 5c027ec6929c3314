"""How many layers to put on the GPU, and what to say when the GPU runs out of memory.

Pure functions of what the machine reports (free VRAM from system_memory, the model's shapes
from its GGUF header, llama.cpp's log), so the choice is tested on recorded figures; the one
look at the machine, ``offload_in_build``, reads file names and loads nothing (the GUI process
never loads llama.cpp).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.model_info import default_parallel, human_bytes
from .fit import (
    F16_CACHE,
    GPU_HEADROOM,
    KVTypes,
    compute_bytes,
    estimate_fit,
    kv_cache_bytes,
    layer_bytes,
)
from .gguf_metadata import GGUFInfo
from .system_memory import Memory

# ggml's GPU back-ends, as their shared libraries are named (libggml-cuda.so, ggml-vulkan.dll…).
GPU_BACKENDS = ("cuda", "hip", "vulkan", "metal", "sycl", "opencl", "musa", "cann")


def compiled_backends(lib_dir: Path | None = None) -> tuple[str, ...] | None:
    """The GPU back-ends llama-cpp-python was built with, from its libraries' names; None when
    its library folder cannot be found (then only the model host can tell)."""
    if lib_dir is None:
        spec = importlib.util.find_spec("llama_cpp")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return None
        lib_dir = Path(next(iter(spec.submodule_search_locations))) / "lib"
    if not lib_dir.is_dir():
        return None
    names = " ".join(p.name.lower() for p in lib_dir.iterdir())
    return tuple(b for b in GPU_BACKENDS if re.search(rf"ggml-{b}\b", names))


def offload_in_build(lib_dir: Path | None = None) -> bool | None:
    backends = compiled_backends(lib_dir)
    return None if backends is None else bool(backends)


def choose_gpu_layers(info: GGUFInfo, n_ctx: int, n_parallel: int | None, memory: Memory,
                      offload_supported: bool, kv: KVTypes = F16_CACHE) -> tuple[int, str]:
    """``n_gpu_layers`` for "auto" with a given number of parallel sequences, and the reason.

    All layers (the blocks and the output head) when they fit in free VRAM, else as many as
    fit; unknown VRAM (a GPU without nvidia-smi) keeps llama.cpp's own default, everything on
    the GPU, since the out-of-memory message then says how many layers to try instead."""
    total = info.n_layers + 1
    if not offload_supported:
        return 0, "the installed llama.cpp is CPU only, so every layer runs on the CPU"
    if memory.free_vram is None:
        return total, (f"{memory.gpu}; all {total} layers go to the GPU, as llama.cpp does "
                       "(lower GPU layers if the load runs out of memory)")
    parallel = n_parallel or default_parallel(True)
    layers = _layers_that_fit(info, n_ctx, parallel, memory, kv)
    free = _free(memory)
    if layers >= total:
        return total, f"all {total} layers fit in {free}"
    if layers > 0:
        return layers, f"{layers} of {total} layers fit in {free}; the rest run on the CPU"
    need = layer_bytes(info, n_ctx * parallel, kv) + compute_bytes(info, n_ctx) + GPU_HEADROOM
    return 0, (f"not one layer fits in {free} (the first needs ≈{human_bytes(need)} with the "
               "compute buffer and headroom); the model runs on the CPU")


@dataclass(frozen=True)
class OffloadChoice:
    """What "auto" becomes: GPU layers and parallel sequences chosen together, and why."""
    n_gpu_layers: int
    n_parallel: int | None  # None: left to the host (a CPU build, or VRAM unknown)
    reason: str  # one line for the model bar: the choice and what decided it
    advice: str = ""  # what would fit more (a quantized KV cache), or ""

    def describe(self) -> str:
        return f"{self.reason}. {self.advice}" if self.advice else self.reason


# A q8_0 KV cache as measured on the bundled model (tests/bench/bench_kv_quant.py: n_ctx 2048,
# flash attention on; KV buffer from llama.cpp's log, perplexity of a 213-token text, 5
# prompts × 64 greedy tokens against f16): what the advice quotes. (q4_0: 72% smaller,
# perplexity +5.0%, greedy tokens differ after 0–9 tokens: not advised.)
KV_QUANT_MEASURED = {
    "q8_0": "measured on the bundled model: KV cache 47% smaller, perplexity +0.5%, greedy "
            "answers the same for the first 7–49 tokens, then different",
}


def choose_offload(info: GGUFInfo, n_ctx: int, n_parallel: int | None, memory: Memory,
                   offload_supported: bool, kv: KVTypes = F16_CACHE,
                   n_gpu_layers: int | None = None) -> OffloadChoice:
    """GPU layers and parallel sequences from the memory estimate, fewer sequences before
    fewer layers: each sequence owns a whole n_ctx of KV cache (the price of exact
    determinism), and a layer left on the CPU slows every token while a missing sequence only
    queues a request. What the user set (``n_parallel``, ``n_gpu_layers``) is kept; the
    other gives way."""
    if not offload_supported or memory.free_vram is None:
        layers, reason = choose_gpu_layers(info, n_ctx, n_parallel, memory, offload_supported, kv)
        return OffloadChoice(layers if n_gpu_layers is None else n_gpu_layers, n_parallel,
                             reason)
    total = info.n_layers + 1
    wanted = default_parallel(True)
    if n_gpu_layers is not None:
        return _parallel_for_layers(info, n_ctx, n_parallel, memory, kv, n_gpu_layers)
    if n_parallel is not None:
        layers, reason = choose_gpu_layers(info, n_ctx, n_parallel, memory, True, kv)
        reason = f"{reason} with {_sequences(n_parallel)} (as set)"
        advice = _kv_advice(info, n_ctx, n_parallel, memory, kv) if layers < total else ""
        return OffloadChoice(layers, n_parallel, reason, advice)
    parallel = next((p for p in _halvings(wanted)
                     if _layers_that_fit(info, n_ctx, p, memory, kv) >= total), 1)
    layers, reason = choose_gpu_layers(info, n_ctx, parallel, memory, True, kv)
    if layers == 0:  # all on the CPU: as many sequences as the CPU default
        parallel = default_parallel(False)
        return OffloadChoice(0, parallel, f"{reason}, with {_sequences(parallel)}")
    reason = f"{reason} with {_sequences(parallel)}"
    if parallel < wanted:
        kv_wanted = kv_cache_bytes(info, n_ctx * wanted, kv=kv)
        reason += (f" ({wanted} would need {human_bytes(kv_wanted)} of KV cache: each sequence "
                   f"keeps its own {n_ctx:,} tokens)")
    advice = _kv_advice(info, n_ctx, parallel, memory, kv) \
        if parallel < wanted or layers < total else ""
    return OffloadChoice(layers, parallel, reason, advice)


def _parallel_for_layers(info: GGUFInfo, n_ctx: int, n_parallel: int | None, memory: Memory,
                         kv: KVTypes, n_gpu_layers: int) -> OffloadChoice:
    """The user's GPU layers, with as many parallel sequences (up to 8) as leave room for them."""
    total = info.n_layers + 1
    target = total if n_gpu_layers < 0 else min(n_gpu_layers, total)
    parallel = n_parallel or next(
        (p for p in _halvings(default_parallel(True))
         if _layers_that_fit(info, n_ctx, p, memory, kv) >= target), 1)
    fit = _layers_that_fit(info, n_ctx, parallel, memory, kv)
    reason = f"{target} of {total} layers on the GPU as set, with {_sequences(parallel)}"
    if fit < target:
        reason += f"; only {fit} fit in {_free(memory)} by the estimate"
    return OffloadChoice(n_gpu_layers, parallel, reason)


def _kv_advice(info: GGUFInfo, n_ctx: int, parallel: int, memory: Memory, kv: KVTypes) -> str:
    """The choice a q8_0 KV cache would allow, when it allows more (f16 caches only)."""
    if kv.quantized:
        return ""
    q8 = KVTypes("q8_0", "q8_0")
    total = info.n_layers + 1
    layers_now = _layers_that_fit(info, n_ctx, parallel, memory, kv)
    better = next((p for p in _halvings(default_parallel(True))
                   if p > parallel and _layers_that_fit(info, n_ctx, p, memory, q8) >= total),
                  None)
    if better is not None:
        gain = f"{_sequences(better)} with all {total} layers"
    elif (q8_layers := _layers_that_fit(info, n_ctx, parallel, memory, q8)) > layers_now:
        gain = f"{min(q8_layers, total)} of {total} layers"
    else:
        return ""
    return (f"With {q8.flags()} -fa on, {gain} would fit ({KV_QUANT_MEASURED['q8_0']})")


def _layers_that_fit(info: GGUFInfo, n_ctx: int, parallel: int, memory: Memory,
                     kv: KVTypes) -> int:
    return estimate_fit(info, n_ctx, memory, offload_supported=True, n_parallel=parallel,
                        kv=kv).recommended_gpu_layers


def _halvings(start: int) -> list[int]:
    """8, 4, 2, 1: the parallel sequences tried, most first."""
    counts = []
    while start >= 1:
        counts.append(start)
        start //= 2
    return counts if counts[-1] == 1 else [*counts, 1]


def _sequences(n: int) -> str:
    return "1 parallel sequence" if n == 1 else f"{n} parallel sequences"


def _free(memory: Memory) -> str:
    """``2.0 GiB free VRAM``, naming the device when llama.cpp's back-end reported it."""
    pool = "unified memory" if memory.unified else "VRAM"
    where = f" on {memory.device}" if memory.device else ""
    return f"{human_bytes(memory.free_vram or 0)} free {pool}{where}"


# llama.cpp's words when a GPU allocation fails (CUDA/ROCm, Vulkan, Metal, and the generic
# buffer and KV-cache messages that follow them). "CPU buffer" is RAM, not VRAM: left out.
_OUT_OF_VRAM = re.compile(
    r"(?:cuda|hip)Malloc failed: out of memory"
    r"|ErrorOutOfDeviceMemory"
    r"|Device memory allocation of size \d+ failed"
    r"|_buffer_type_alloc_buffer: allocating .* failed"
    r"|(?:failed|unable) to allocate (?!CPU)\w+ buffer"
    r"|failed to allocate buffer for kv cache"
    r"|failed to allocate compute buffers"
    r"|error: failed to allocate buffer, size =",
    re.IGNORECASE)


def out_of_vram_line(log: str) -> str | None:
    """llama.cpp's first (whole) line saying a GPU allocation failed, or None."""
    match = _OUT_OF_VRAM.search(log)
    if match is None:
        return None
    start = log.rfind("\n", 0, match.start()) + 1
    end = log.find("\n", match.end())
    return log[start:end if end >= 0 else len(log)].strip()


def suggest_gpu_layers(requested: int, total: int, fit_layers: int | None) -> int:
    """Fewer layers than the failed load: the fit estimate's figure when it is lower, else half."""
    requested = total if requested < 0 or requested > total else requested
    if fit_layers is not None and fit_layers < requested:
        return max(0, fit_layers)
    return requested // 2


def vram_failure_message(log: str, requested: int, total: int,
                         fit_layers: int | None = None) -> str | None:
    """One line for a load that ran out of GPU memory (None: it did not, or nothing was on
    the GPU, so the allocation that failed was RAM)."""
    line = out_of_vram_line(log)
    if line is None or requested == 0:
        return None
    if requested < 0 and total <= 0:  # "all" of a model whose layers are unknown
        layers, advice = "all", "a lower --gpu-layers"
    else:
        layers = total if requested < 0 or requested > total > 0 else requested
        advice = f"--gpu-layers {suggest_gpu_layers(layers, layers, fit_layers)}"
    return (f"not enough GPU memory to load it with {layers} layers on the GPU; try {advice} "
            f"(or lower the context / parallel sequences) [llama.cpp: {line}]")
