"""The set-up's llama.cpp backend choice, decided on recorded outputs of the machine's tools."""

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.backend_choice import (
    Report,
    choose,
    cuda_release,
    nvidia_gpus,
    nvidia_memory,
    probe,
    rocm_gpus,
    software_vulkan,
    vulkan_gpus,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = Path(__file__).parent / "fixtures" / "backend_outputs"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def machine(uname: str = "uname-linux-x86_64.txt", **tools) -> Report:
    system, arch = recorded(uname).split()
    return Report(system=system, machine=arch, **tools)


H200 = recorded("nvidia-smi-L-h200.txt")
NVCC = recorded("nvcc-version-13.0.txt")
SDK = "/opt/vulkan/1.3.275/x86_64/bin/glslc"


def test_the_recorded_outputs_parse():
    assert nvidia_gpus(H200) == ["NVIDIA H200"]
    assert nvidia_gpus(recorded("nvidia-smi-L-two.txt")) == [
        "NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3060"]
    assert nvidia_gpus(recorded("nvidia-smi-failed.txt")) == []
    assert cuda_release(NVCC) == "13.0"
    assert vulkan_gpus(recorded("vulkaninfo-summary-radeon.txt")) == [
        "AMD Radeon RX 7900 XTX (RADV NAVI31)"]  # llvmpipe is the CPU, not a GPU
    assert vulkan_gpus(recorded("vulkaninfo-summary-llvmpipe.txt")) == []
    assert rocm_gpus(recorded("rocminfo-gfx1100.txt")) == [("Radeon RX 7900 XTX", "gfx1100")]
    assert nvidia_memory(recorded("nvidia-smi-query-gpu-h200.csv")) == [
        ("NVIDIA H200", 143771, 143150)]


def test_nvidia_gpu_and_nvcc_give_the_cuda_build():
    choice = choose(machine(nvidia_smi=H200, nvcc=NVCC, nvcc_path="/usr/local/bin/nvcc"))
    assert choice.backend == "cuda"
    assert choice.cmake_args == "-DGGML_CUDA=on"
    assert choice.reason == "NVIDIA GPU found (NVIDIA H200) and CUDA 13.0 (nvcc) → CUDA build"
    assert choice.gpus == ["NVIDIA H200"]


def test_nvcc_off_the_path_is_handed_to_cmake():
    nvcc = "/usr/local/cuda/bin/nvcc"
    choice = choose(machine(nvidia_smi=H200, nvcc=NVCC, nvcc_path=nvcc, nvcc_on_path=False))
    assert choice.cmake_args == f"-DGGML_CUDA=on -DCMAKE_CUDA_COMPILER={nvcc}"


def test_nvidia_gpu_without_the_toolkit_says_what_is_missing_and_how_to_get_offload():
    choice = choose(machine(nvidia_smi=recorded("nvidia-smi-L-two.txt")))
    assert choice.backend == "cpu" and choice.cmake_args == ""
    assert choice.reason.startswith("NVIDIA GPU found (NVIDIA GeForce RTX 4090, NVIDIA GeForce "
                                    "RTX 3060) but no CUDA toolkit (nvcc) → CPU build")
    assert "CMAKE_ARGS=-DGGML_CUDA=on pip install --force-reinstall --no-cache-dir" in choice.reason
    assert "make clean run" in choice.reason
    assert "\n" not in choice.reason


@pytest.mark.parametrize("smi", [None, recorded("nvidia-smi-failed.txt")])
def test_nvcc_without_a_gpu_stays_on_the_cpu(smi):
    choice = choose(machine(nvidia_smi=smi, nvcc=NVCC, nvcc_path="/usr/local/bin/nvcc"))
    assert choice.backend == "cpu"
    assert choice.reason.startswith("CUDA 13.0 toolkit (nvcc) found but no NVIDIA GPU")


def test_a_vulkan_gpu_and_the_sdk_give_the_vulkan_build():
    choice = choose(machine(vulkaninfo=recorded("vulkaninfo-summary-radeon.txt"), glslc=SDK))
    assert (choice.backend, choice.cmake_args) == ("vulkan", "-DGGML_VULKAN=on")
    assert "AMD Radeon RX 7900 XTX" in choice.reason


def test_a_vulkan_gpu_without_the_sdk_and_a_software_renderer():
    no_sdk = choose(machine(vulkaninfo=recorded("vulkaninfo-summary-radeon.txt")))
    assert no_sdk.backend == "cpu"
    assert "but no Vulkan SDK (glslc)" in no_sdk.reason and "-DGGML_VULKAN=on" in no_sdk.reason
    llvmpipe = choose(machine(vulkaninfo=recorded("vulkaninfo-summary-llvmpipe.txt"), glslc=SDK))
    assert llvmpipe.backend == "cpu" and llvmpipe.reason.startswith("No GPU found")


def test_the_software_vulkan_device_is_refused_unless_asked_for():
    """lavapipe is real Vulkan on the CPU, slower than the CPU build: named, never chosen;
    LLAMA_BACKEND=vulkan builds for it (the offload tests do), GGML_VK_VISIBLE_DEVICES=0 uses it."""
    summary = recorded("vulkaninfo-summary-llvmpipe.txt")
    assert software_vulkan(summary) == ["llvmpipe (LLVM 17.0.6, 256 bits)"]
    assert software_vulkan(recorded("vulkaninfo-summary-radeon.txt")) == [
        "llvmpipe (LLVM 17.0.6, 256 bits)"]  # beside the Radeon
    refused = choose(machine(vulkaninfo=summary, glslc=SDK))
    assert (refused.backend, refused.cmake_args) == ("cpu", "")
    assert refused.reason.startswith("No GPU found, only the software Vulkan device llvmpipe "
                                     "(LLVM 17.0.6, 256 bits), which runs on the CPU more "
                                     "slowly than the CPU build → CPU build")
    assert "LLAMA_BACKEND=vulkan" in refused.reason
    assert "GGML_VK_VISIBLE_DEVICES=0" in refused.reason and "\n" not in refused.reason
    asked = choose(machine(vulkaninfo=summary, glslc=SDK), forced="vulkan")
    assert (asked.backend, asked.cmake_args) == ("vulkan", "-DGGML_VULKAN=on")
    assert asked.reason == ("Vulkan build chosen by LLAMA_BACKEND=vulkan; the only Vulkan device "
                            "is llvmpipe (LLVM 17.0.6, 256 bits), a software device on the "
                            "CPU, which llama.cpp uses only with GGML_VK_VISIBLE_DEVICES=0")
    # A real Vulkan GPU beside it: forcing Vulkan says nothing of the software device.
    radeon = choose(machine(vulkaninfo=recorded("vulkaninfo-summary-radeon.txt"), glslc=SDK),
                    forced="vulkan")
    assert radeon.reason == "Vulkan build chosen by LLAMA_BACKEND=vulkan"


def test_rocm_gives_the_hip_build_for_the_gpus_target():
    choice = choose(machine(rocminfo=recorded("rocminfo-gfx1100.txt"),
                            hipconfig=recorded("hipconfig-version.txt"),
                            vulkaninfo=recorded("vulkaninfo-summary-radeon.txt"), glslc=SDK))
    assert choice.backend == "hip"
    assert choice.cmake_args == "-DGGML_HIP=on -DAMDGPU_TARGETS=gfx1100"
    assert "Radeon RX 7900 XTX" in choice.reason
    without_hip = choose(machine(rocminfo=recorded("rocminfo-gfx1100.txt")))
    assert without_hip.backend == "cpu" and "no HIP SDK (hipconfig)" in without_hip.reason


def test_apple_silicon_gets_metal_and_an_intel_mac_the_cpu():
    assert choose(machine("uname-darwin-arm64.txt")).backend == "metal"
    assert choose(machine("uname-darwin-arm64.txt")).cmake_args == "-DGGML_METAL=on"
    intel = choose(machine("uname-darwin-x86_64.txt"))
    assert intel.backend == "cpu" and "Apple silicon" in intel.reason


def test_mixed_nvidia_and_vulkan_prefers_cuda_and_vulkan_covers_a_missing_toolkit():
    vulkan = recorded("vulkaninfo-summary-nvidia.txt")
    both = choose(machine(nvidia_smi=H200, nvcc=NVCC, vulkaninfo=vulkan, glslc=SDK))
    assert both.backend == "cuda"
    no_nvcc = choose(machine(nvidia_smi=H200, vulkaninfo=vulkan, glslc=SDK))
    assert no_nvcc.backend == "vulkan" and "no CUDA toolkit" in no_nvcc.reason


def test_nothing_found_is_the_cpu_build_with_the_way_to_offload():
    choice = choose(machine())
    assert choice.backend == "cpu" and choice.cmake_args == "" and choice.fallback
    assert choice.reason.startswith("No GPU found")
    assert "make clean run" in choice.reason


def test_a_forced_backend_wins_and_a_wrong_name_is_refused():
    detected = machine(rocminfo=recorded("rocminfo-gfx1100.txt"), hipconfig="6.1")
    assert choose(detected, "cpu").backend == "cpu"
    assert choose(detected, "hip").cmake_args == "-DGGML_HIP=on -DAMDGPU_TARGETS=gfx1100"
    with pytest.raises(ValueError, match="backend 'gpu': not one of cuda, vulkan, hip, metal, cpu"):
        choose(detected, "gpu")


def test_probe_reports_this_machine():
    report = probe()
    assert (report.system, report.machine) == (platform.system(), platform.machine())
    if shutil.which("nvcc"):
        assert report.nvcc_path == shutil.which("nvcc") and report.nvcc_on_path
    if shutil.which("nvidia-smi") is None:
        assert report.nvidia_smi is None
    assert choose(report).backend in ("cuda", "vulkan", "hip", "metal", "cpu")


FAKE_PIP = """#!/bin/sh
echo "$PIP_CACHE_DIR|$CMAKE_ARGS|$*" >> "$(dirname "$0")/pip.log"
case "$*" in *--no-binary*) echo "CMake Error: no GPU toolkit" >&2; exit 1;; esac
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_builds_llama_first_in_its_own_cache_and_falls_back_when_the_gpu_build_fails(
        tmp_path):
    # The real Makefile and chooser; pip is a stand-in that fails the GPU build.
    pip = tmp_path / "pip"
    pip.write_text(FAKE_PIP, encoding="utf-8")
    pip.chmod(0o755)
    venv = tmp_path / "venv"
    done = subprocess.run(["make", "--no-print-directory", "venv", f"VENV={venv}", f"PIP={pip}",
                           f"PYTHON={sys.executable}", "LLAMA_BACKEND=vulkan"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "pip.log").read_text(encoding="utf-8").splitlines()
    gpu = next(i for i, call in enumerate(calls) if "--no-binary llama-cpp-python" in call)
    cache, cmake_args, _ = calls[gpu].split("|")
    assert cache.endswith("/.cache/pip-llama-vulkan") and cmake_args == "-DGGML_VULKAN=on"
    assert "--force-reinstall --no-deps llama-cpp-python>=0.3.8" in calls[gpu + 1]
    assert calls[gpu + 1].split("|")[1] == ""  # the CPU fallback without GPU flags
    assert "install -e .[demo,tune,ray,dev]" in calls[gpu + 2]
    saved = json.loads((venv / "workbench-backend.json").read_text(encoding="utf-8"))
    assert saved["backend"] == "cpu"
    assert saved["reason"].startswith("the vulkan build of llama-cpp-python failed")
    assert "llama.cpp backend: the vulkan build" in done.stdout + done.stderr


def test_the_command_runs_without_any_third_party_package(tmp_path):
    # -S: no site-packages, as with the system python3 before the venv exists.
    record = tmp_path / "workbench-backend.json"
    env = {**os.environ, "LLAMA_BACKEND": ""}
    done = subprocess.run([sys.executable, "-S", "-m", "workbench.backend_choice", "--make",
                           "--json", str(record)], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    lines = done.stdout.splitlines()
    backend = lines[0].removeprefix("BACKEND=")
    assert lines[1].startswith("CMAKE_ARGS=")
    assert done.stderr.startswith("llama.cpp backend: ")
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["backend"] == backend
    assert set(saved) >= {"backend", "reason", "cmake_args", "time", "gpus"}
    assert saved["reason"] in done.stderr


def test_an_unknown_forced_backend_is_one_clear_line():
    done = subprocess.run([sys.executable, "-S", "-m", "workbench.backend_choice", "--make",
                           "--backend", "gpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("backend_choice: backend 'gpu': not one of cuda, vulkan, hip, "
                                   "metal, cpu")
