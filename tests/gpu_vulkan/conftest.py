"""The offload tests on a real GPU back-end: llama.cpp's Vulkan build, on Mesa's software
Vulkan driver (lavapipe) where the machine has no GPU (issue 29).

`make test-vulkan` builds llama-cpp-python for Vulkan into .venv-vulkan and runs these tests
there with GGML_VK_VISIBLE_DEVICES=0 (ggml leaves a CPU-type Vulkan device alone unless told)
and WORKBENCH_CPU_LLAMA_LIB, the CPU build's library folder in .venv, so that the greedy
tokens of both builds are compared in the same run. Under any other llama.cpp (the CPU build
of `make test`) every test here is skipped at once, saying why: nothing is started to find out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.library.gpu_devices import GpuDevice, backend_devices
from workbench.library.offload import compiled_backends

ROOT = Path(__file__).resolve().parents[2]


def why_no_vulkan_device() -> tuple[str, GpuDevice | None]:
    if "vulkan" not in (compiled_backends() or ()):
        return ("the installed llama.cpp has no Vulkan back-end (`make test-vulkan` builds one "
                "in .venv-vulkan and runs these tests there)"), None
    probe = backend_devices()
    if probe.problem:
        return f"llama.cpp's Vulkan back-end could not be asked: {probe.problem}", None
    vulkan = [device for device in probe.devices if device.name.startswith("Vulkan")]
    if not vulkan:
        return ("llama.cpp's Vulkan back-end sees no device (a CPU-type device such as "
                "lavapipe is used only with GGML_VK_VISIBLE_DEVICES=0)"), None
    return "", vulkan[0]


@pytest.fixture(scope="session", autouse=True)
def vulkan_device() -> GpuDevice:
    """The Vulkan device llama.cpp offloads to, as its back-end reports it."""
    why, device = why_no_vulkan_device()
    if device is None:
        pytest.skip(why)
    return device


@pytest.fixture(scope="session")
def cpu_library() -> Path:
    """The CPU build's llama.cpp libraries (same llama-cpp-python version), for the tokens
    the Vulkan build is compared with. A missing CPU build fails the comparison: it is never
    skipped into a pass."""
    named = os.environ.get("WORKBENCH_CPU_LLAMA_LIB")
    found = [Path(named)] if named else sorted(
        ROOT.glob(".venv/lib/python*/site-packages/llama_cpp/lib"))
    for folder in found:
        if (folder / "libllama.so").exists() and not compiled_backends(folder):
            return folder
    pytest.fail(f"no CPU build of llama.cpp to compare with (WORKBENCH_CPU_LLAMA_LIB="
                f"{named or 'unset'}, .venv's llama_cpp/lib): run `make test-vulkan`")
