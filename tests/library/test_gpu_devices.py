"""llama.cpp's GPU devices as its back-end reports them: the probe's answer, the log line of a
load, and free VRAM for the fit where nvidia-smi cannot tell (recorded outputs; the real
Vulkan device is tests/gpu_vulkan/'s, under `make test-vulkan`)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.vram_logs import CUDA_WEIGHTS
from workbench.library.gpu_devices import (
    DeviceProbe,
    GpuDevice,
    describe_devices,
    devices_in_log,
    parse_probe,
)
from workbench.library.offload import compiled_backends
from workbench.library.system_memory import system_memory, vram_from_backend

MiB = 1024 ** 2
LAVAPIPE = GpuDevice("Vulkan0", "llvmpipe (LLVM 15.0.6, 256 bits)", "gpu", 2048 * MiB,
                     2048 * MiB)
# Recorded: llama.cpp's log at a load on lavapipe (llama-cpp-python 0.3.36, Vulkan build).
LAVAPIPE_LOG = ("llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe (LLVM 15.0.6, "
                "256 bits)) (unknown id) - 2048 MiB free\n")
# Newer llama.cpp adds the PCI bus id.
WITH_BUS_ID = ("llama_model_load_from_file_impl: using device CUDA0 (NVIDIA GeForce RTX 4090) "
               "(0000:01:00.0) - 23579 MiB free\n")


def test_the_probes_answer_becomes_devices():
    answer = json.dumps([{"name": "Vulkan0", "description": "llvmpipe (LLVM 15.0.6, 256 bits)",
                          "kind": "gpu", "free": 2048 * MiB, "total": 2048 * MiB}])
    assert parse_probe("ggml_vulkan: Found 1 Vulkan devices:\n" + answer) == \
        DeviceProbe((LAVAPIPE,))
    assert parse_probe("[]") == DeviceProbe(())
    assert parse_probe('{"error": "OSError: libvulkan.so.1: cannot open"}').problem == \
        "OSError: libvulkan.so.1: cannot open"
    crashed = parse_probe("", -11, "ggml_vulkan: something\nSegmentation fault\n")
    assert crashed == DeviceProbe((), "the device probe exited with status -11: Segmentation "
                                      "fault")
    assert describe_devices([LAVAPIPE]) == ("Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)), 2,048 "
                                            "MiB free of 2,048 MiB")


def test_the_load_logs_names_the_device_it_uses():
    assert devices_in_log(LAVAPIPE_LOG) == [(LAVAPIPE.label(), 2048)]
    assert devices_in_log(CUDA_WEIGHTS) == [("CUDA0 (NVIDIA GeForce RTX 3060)", 11841)]
    assert devices_in_log(WITH_BUS_ID) == [("CUDA0 (NVIDIA GeForce RTX 4090)", 23579)]
    assert devices_in_log("load_tensors: CPU_Mapped model buffer size = 92.0 MiB\n") == []


def test_a_gpu_builds_devices_give_the_free_vram_the_fit_uses():
    free, total, gpu, unified, device = vram_from_backend(("vulkan",), DeviceProbe((LAVAPIPE,)))
    assert (free, total, unified) == (2048 * MiB, 2048 * MiB, False)
    assert gpu == device == "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))"
    two = vram_from_backend(("cuda",), DeviceProbe((
        GpuDevice("CUDA0", "NVIDIA GeForce RTX 4090", "gpu", 20 * 1024 * MiB, 24 * 1024 * MiB),
        GpuDevice("CUDA1", "NVIDIA GeForce RTX 3060", "gpu", 10 * 1024 * MiB, 12 * 1024 * MiB))))
    assert two[:2] == (30 * 1024 * MiB, 36 * 1024 * MiB)  # layers spread over both
    assert two[4] == "CUDA0 (NVIDIA GeForce RTX 4090) + CUDA1 (NVIDIA GeForce RTX 3060)"
    hidden = vram_from_backend(("vulkan",), DeviceProbe(()))
    assert hidden == (None, None, "free VRAM unknown: the vulkan build of llama.cpp sees no GPU "
                                  "device", False, "")
    broken = vram_from_backend(("vulkan",), DeviceProbe((), "the device probe exited with "
                                                            "status -11"))
    assert broken[0] is None and broken[2].endswith("(the device probe exited with status -11)")


@pytest.mark.skipif(bool(compiled_backends()), reason="this llama.cpp has a GPU back-end")
def test_a_cpu_build_asks_no_back_end():
    memory = system_memory()
    assert memory.device == ""  # no back-end was asked
    if memory.free_vram is None:  # no nvidia-smi either: the reason says so
        assert memory.gpu.startswith("free VRAM unknown: ") and "nvidia-smi" in memory.gpu
    assert system_memory(vram=False).free_vram is None
