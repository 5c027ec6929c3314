"""The fit-driven GPU layer choice on recorded VRAM figures, the out-of-VRAM message on
recorded llama.cpp logs, and the build's back-ends read from its library files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures import vram_logs
from workbench.core.model_info import default_parallel
from workbench.library.fit import GPU_HEADROOM, compute_bytes, layer_bytes
from workbench.library.gguf_metadata import read_gguf_info
from workbench.library.offload import (
    choose_gpu_layers,
    compiled_backends,
    offload_in_build,
    suggest_gpu_layers,
    vram_failure_message,
)
from workbench.library.system_memory import Memory

GiB, MiB = 1024 ** 3, 1024 ** 2
N_CTX = 4096


@pytest.fixture(scope="module")
def info(bundled_model):
    return read_gguf_info(bundled_model)


def _gpu(vram: int | None, gpu: str = "NVIDIA GeForce RTX 3060") -> Memory:
    return Memory(32 * GiB, 64 * GiB, vram, 12 * GiB if vram else None, gpu)


def test_plenty_of_vram_puts_every_layer_on_the_gpu(info):
    layers, reason = choose_gpu_layers(info, N_CTX, None, _gpu(22 * GiB), True)
    assert layers == info.n_layers + 1
    assert reason == f"all {info.n_layers + 1} layers fit in 22.0 GiB free VRAM"


def test_a_partial_fit_takes_as_many_layers_as_fit(info):
    parallel = default_parallel(True)
    # Room for exactly three blocks after the headroom and the compute buffer.
    vram = (GPU_HEADROOM + compute_bytes(info, N_CTX)
            + 3 * layer_bytes(info, N_CTX * parallel) + MiB)
    layers, reason = choose_gpu_layers(info, N_CTX, None, _gpu(vram), True)
    assert layers == 3
    assert reason.startswith(f"3 of {info.n_layers + 1} layers fit in ")
    assert reason.endswith("free VRAM; the rest run on the CPU")


def test_more_parallel_sequences_leave_room_for_fewer_layers(info):
    vram = GPU_HEADROOM + compute_bytes(info, N_CTX) + 3 * layer_bytes(info, N_CTX * 8) + MiB
    few, _ = choose_gpu_layers(info, N_CTX, 8, _gpu(vram), True)
    many, _ = choose_gpu_layers(info, N_CTX, 32, _gpu(vram), True)
    assert few == 3 and many < few


def test_too_little_vram_for_one_layer_runs_on_the_cpu(info):
    layers, reason = choose_gpu_layers(info, N_CTX, None, _gpu(400 * MiB), True)
    assert layers == 0
    assert reason.startswith("not one layer fits in 400.0 MiB free VRAM")
    assert reason.endswith("the model runs on the CPU")


def test_unknown_vram_keeps_llama_cpp_default_and_says_so(info):
    memory = _gpu(None, "free VRAM unknown: no NVIDIA GPU found (nvidia-smi is not installed)")
    layers, reason = choose_gpu_layers(info, N_CTX, None, memory, True)
    assert layers == info.n_layers + 1
    assert reason.startswith("free VRAM unknown: no NVIDIA GPU found")
    assert "lower GPU layers if the load runs out of memory" in reason


def test_unified_memory_counts_the_ram_the_gpu_shares(info):
    apple = Memory(16 * GiB, 32 * GiB, 16 * GiB, 32 * GiB, "Apple silicon (unified memory)",
                   unified=True)
    layers, reason = choose_gpu_layers(info, N_CTX, None, apple, True)
    assert layers == info.n_layers + 1
    assert reason == f"all {info.n_layers + 1} layers fit in 16.0 GiB free unified memory"


def test_a_cpu_only_llama_cpp_offloads_nothing_whatever_the_vram(info):
    layers, reason = choose_gpu_layers(info, N_CTX, None, _gpu(22 * GiB), False)
    assert layers == 0 and "CPU only" in reason


# -- out of VRAM at load ---------------------------------------------------------------------


@pytest.mark.parametrize("log, line", [
    (vram_logs.CUDA_WEIGHTS, "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 590.07 "
                             "MiB on device 0: cudaMalloc failed: out of memory"),
    (vram_logs.CUDA_KV_CACHE, "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 13285.50 "
                              "MiB on device 0: cudaMalloc failed: out of memory"),
    (vram_logs.ROCM_WEIGHTS, "alloc_tensor_range: failed to allocate ROCm0 buffer of size "
                             "4294967296"),
    (vram_logs.VULKAN, "ggml_vulkan: Device memory allocation of size 4294967296 failed."),
    (vram_logs.METAL_COMPUTE, "ggml_metal_buffer_type_alloc_buffer: error: failed to allocate "
                              "buffer, size = 9012.50 MiB"),
])
def test_out_of_vram_is_one_line_with_the_layers_to_try(log, line):
    message = vram_failure_message(log, requested=29, total=31, fit_layers=18)
    assert message == (f"not enough GPU memory to load it with 29 layers on the GPU; try "
                       f"--gpu-layers 18 (or lower the context / parallel sequences) "
                       f"[llama.cpp: {line}]")
    assert "\n" not in message


def test_all_layers_requested_names_the_count_and_halves_it_without_an_estimate():
    message = vram_failure_message(vram_logs.VULKAN, requested=-1, total=31)
    assert message.startswith("not enough GPU memory to load it with 31 layers on the GPU; "
                              "try --gpu-layers 15 ")


def test_an_estimate_that_says_it_fits_is_not_suggested_again():
    # It failed with 31 although the estimate said 31 fit: suggest fewer, never the same.
    assert suggest_gpu_layers(31, 31, fit_layers=31) == 15
    assert suggest_gpu_layers(-1, 31, fit_layers=12) == 12
    assert suggest_gpu_layers(20, 31, fit_layers=0) == 0


@pytest.mark.parametrize("log", [vram_logs.CPU_BUFFER, vram_logs.UNKNOWN_ARCHITECTURE, ""])
def test_other_failures_are_not_called_out_of_vram(log):
    assert vram_failure_message(log, requested=29, total=31, fit_layers=18) is None


def test_nothing_on_the_gpu_means_the_failure_was_not_vram():
    assert vram_failure_message(vram_logs.CUDA_WEIGHTS, requested=0, total=31) is None


# -- the build's back-ends, from its library files --------------------------------------------


@pytest.mark.parametrize("files, expected", [
    (["libggml-base.so", "libggml-cpu.so", "libllama.so"], ()),
    (["libggml-base.so", "libggml-cpu.so", "libggml-cuda.so", "libllama.so"], ("cuda",)),
    (["ggml-base.dll", "ggml-vulkan.dll", "llama.dll"], ("vulkan",)),
    (["libggml-metal.dylib", "libggml-cpu.dylib"], ("metal",)),
    (["libggml-hip.so", "libggml-vulkan.so"], ("hip", "vulkan")),
])
def test_compiled_backends_from_library_names(tmp_path, files, expected):
    for name in files:
        (tmp_path / name).write_bytes(b"")
    assert compiled_backends(tmp_path) == expected
    assert offload_in_build(tmp_path) is bool(expected)


def test_no_library_folder_means_unknown(tmp_path):
    assert compiled_backends(tmp_path / "missing") is None
    assert offload_in_build(tmp_path / "missing") is None


def test_the_installed_build_agrees_with_llama_cpp_itself():
    """What the file names say is what llama.cpp answers (asked in a child: the test process,
    like the GUI, does not load llama.cpp)."""
    answer = subprocess.run(
        [sys.executable, "-c", "import llama_cpp; print(bool(llama_cpp.llama_supports_gpu_offload()))"],
        capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert offload_in_build() is (answer == "True")
