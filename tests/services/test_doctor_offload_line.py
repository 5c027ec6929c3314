"""`workbench doctor`'s Offload line and GPU lines on real models' shapes and recorded cards:
the line names both halves of auto's choice (GPU layers and parallel sequences) and why, and a
GPU build's devices are listed with the free memory their back-end reports."""

from __future__ import annotations

import pytest

from tests.fixtures.model_shapes import REAL_SHAPES, write_shape
from workbench.core.paths import app_paths
from workbench.library.gpu_devices import DeviceProbe, GpuDevice
from workbench.library.system_memory import Memory
from workbench.services import doctor
from workbench.services.doctor_probes import BackendDevices
from workbench.services.doctor_status import OK, WARNING

GiB, MiB = 1024 ** 3, 1024 ** 2
LAVAPIPE = GpuDevice("Vulkan0", "llvmpipe (LLVM 15.0.6, 256 bits)", "gpu", 2048 * MiB,
                     2048 * MiB)


def card(gb: float, device: str = "") -> Memory:
    return Memory(32 * GiB, 64 * GiB, int(gb * GiB) - 300 * MiB, int(gb * GiB),
                  device or f"NVIDIA {gb} GB card", device=device)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("shapes")
    return {s.name: write_shape(folder, s) for s in REAL_SHAPES}


def test_the_offload_line_names_gpu_layers_and_parallel_sequences(shapes):
    model = "Llama-3.1-8B-Instruct"
    check = doctor.offload_check(app_paths(), shapes[model], model, card(8), offload=True)
    assert (check.section, check.name, check.status) == ("Offload", "auto", OK)
    assert check.detail.startswith(
        "33 GPU layers and 4 parallel sequences for Llama-3.1-8B-Instruct at n_ctx 4,096: all 33 "
        "layers fit in 7.7 GiB free VRAM with 4 parallel sequences (8 would need 4.0 GiB of KV "
        "cache: each sequence keeps its own 4,096 tokens). With -ctk q8_0 -ctv q8_0 -fa on")
    # Fewer layers only once a single sequence is left.
    qwen = doctor.offload_check(app_paths(), shapes["Qwen2.5-14B-Instruct"],
                                "Qwen2.5-14B-Instruct", card(6), offload=True)
    assert qwen.detail.startswith("28 GPU layers and 1 parallel sequence for Qwen2.5-14B-Instruct"
                                  " at n_ctx 4,096: 28 of 49 layers fit in 5.7 GiB free VRAM")


def test_a_cpu_build_says_so_with_the_cpu_default_of_sequences(shapes):
    model = "Llama-3.2-1B-Instruct"
    check = doctor.offload_check(app_paths(), shapes[model], model, card(8), offload=False)
    assert check.detail == ("0 GPU layers and 4 parallel sequences for Llama-3.2-1B-Instruct at "
                            "n_ctx 4,096: the installed llama.cpp is CPU only, so every layer "
                            "runs on the CPU")


def test_free_memory_from_llama_cpps_backend_names_its_device(shapes):
    model = "Llama-3.2-1B-Instruct"
    memory = card(2, device=LAVAPIPE.label())
    check = doctor.offload_check(app_paths(), shapes[model], model, memory, offload=True)
    assert "free VRAM on Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))" in check.detail
    assert check.detail.startswith("17 GPU layers and 1 parallel sequence for ")


def test_a_gpu_builds_devices_are_listed_with_their_free_memory():
    assert list(doctor.backend_device_checks(None)) == []  # a CPU build: nothing asked
    [line] = doctor.backend_device_checks(BackendDevices(("vulkan",), DeviceProbe((LAVAPIPE,))))
    assert (line.section, line.name, line.status) == ("GPUs", "Vulkan0", OK)
    assert line.detail == ("llvmpipe (LLVM 15.0.6, 256 bits): 2,048 MiB free of 2,048 MiB "
                           "(llama.cpp's vulkan back-end)")
    [hidden] = doctor.backend_device_checks(BackendDevices(("vulkan",), DeviceProbe(())))
    assert hidden.status == WARNING and "GGML_VK_VISIBLE_DEVICES" in hidden.detail
    [broken] = doctor.backend_device_checks(
        BackendDevices(("vulkan",), DeviceProbe((), "the device probe exited with status -11")))
    assert broken.status == WARNING and broken.detail.endswith("exited with status -11")
