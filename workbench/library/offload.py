"""How many layers to put on the GPU, and what to say when the GPU runs out of memory.

Pure functions of what the machine reports (free VRAM from system_memory, the model's shapes
from its GGUF header, llama.cpp's log), so the choice is tested on recorded figures; the one
look at the machine, ``offload_in_build``, reads file names and loads nothing (the GUI process
never loads llama.cpp).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from ..core.model_info import default_parallel, human_bytes
from .fit import GPU_HEADROOM, compute_bytes, estimate_fit, layer_bytes
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
                      offload_supported: bool) -> tuple[int, str]:
    """``n_gpu_layers`` for "auto" and the reason, in words, for the model's status.

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
    estimate = estimate_fit(info, n_ctx, memory, offload_supported=True, n_parallel=parallel)
    layers = estimate.recommended_gpu_layers
    pool = "unified memory" if memory.unified else "VRAM"
    free = f"{human_bytes(memory.free_vram)} free {pool}"
    if layers >= total:
        return total, f"all {total} layers fit in {free}"
    if layers > 0:
        return layers, f"{layers} of {total} layers fit in {free}; the rest run on the CPU"
    need = layer_bytes(info, n_ctx * parallel) + compute_bytes(info, n_ctx) + GPU_HEADROOM
    return 0, (f"not one layer fits in {free} (the first needs ≈{human_bytes(need)} with the "
               "compute buffer and headroom); the model runs on the CPU")


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
