"""Which llama.cpp GPU backend the set-up compiles llama-cpp-python with.

Standard library only, and nothing newer than Python 3.8 at run time: the Makefile runs
`python3 -m workbench.backend_choice --make` with the system Python before the venv exists.
`choose()` is a pure function of a `Report` (what the machine said), so the decision is
tested on recorded tool outputs; `probe()` is the only part that asks the real machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BACKENDS = ("cuda", "vulkan", "hip", "metal", "cpu")
FLAGS = {"cuda": "-DGGML_CUDA=on", "vulkan": "-DGGML_VULKAN=on", "hip": "-DGGML_HIP=on",
         "metal": "-DGGML_METAL=on", "cpu": ""}
NAMES = {"cuda": "CUDA", "vulkan": "Vulkan", "hip": "ROCm/HIP", "metal": "Metal", "cpu": "CPU"}


@dataclass
class Report:
    """What the machine said. A tool's output is None when the tool is missing or failed."""

    system: str = "Linux"  # platform.system()
    machine: str = "x86_64"  # platform.machine()
    nvidia_smi: str | None = None  # `nvidia-smi -L`
    nvcc: str | None = None  # `nvcc --version`
    nvcc_path: str | None = None  # where nvcc was found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin)
    nvcc_on_path: bool = True
    vulkaninfo: str | None = None  # `vulkaninfo --summary`
    glslc: str | None = None  # path of glslc (the Vulkan SDK's shader compiler llama.cpp needs)
    rocminfo: str | None = None  # `rocminfo`
    hipconfig: str | None = None  # `hipconfig --version`
    env: dict = field(default_factory=dict)  # CUDA_HOME, CUDA_PATH, VULKAN_SDK, ROCM_PATH


@dataclass
class Choice:
    backend: str  # one of BACKENDS
    cmake_args: str  # CMAKE_ARGS for building llama-cpp-python ("" for the CPU build)
    reason: str  # one line: what was found → which build (and, for a fallback, how to get offload)
    gpus: list = field(default_factory=list)

    @property
    def fallback(self) -> bool:
        return self.backend == "cpu"


def nvidia_gpus(smi: str | None) -> list:
    """GPU names from `nvidia-smi -L` ("GPU 0: NVIDIA H200 (UUID: GPU-…)")."""
    return re.findall(r"^GPU \d+: (.+?)(?: \(UUID: [^)]*\))?\s*$", smi or "", re.M)


def nvidia_memory(query: str | None) -> list:
    """(name, total MiB, free MiB) per GPU from `nvidia-smi --query-gpu=name,memory.total,
    memory.free --format=csv,noheader,nounits` (for `workbench doctor`; choose() needs no VRAM)."""
    rows = []
    for line in (query or "").splitlines():
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            rows.append((parts[0], int(parts[1]), int(parts[2])))
    return rows


def cuda_release(nvcc: str | None) -> str | None:
    found = re.search(r"release (\d+\.\d+)", nvcc or "")
    return found.group(1) if found else None


def vulkan_gpus(summary: str | None) -> list:
    """Real GPUs in `vulkaninfo --summary`; llvmpipe and other CPU devices do not count."""
    gpus = []
    for block in re.split(r"^GPU\d+:\s*$", summary or "", flags=re.M)[1:]:
        kind = re.search(r"deviceType\s*=\s*(\S+)", block)
        name = re.search(r"deviceName\s*=\s*(.+)", block)
        if kind and name and kind.group(1) != "PHYSICAL_DEVICE_TYPE_CPU":
            gpus.append(name.group(1).strip())
    return gpus


def software_vulkan(summary: str | None) -> list:
    """CPU-type Vulkan devices (Mesa's lavapipe, "llvmpipe …"): real Vulkan, run on the CPU."""
    found = []
    for block in re.split(r"^GPU\d+:\s*$", summary or "", flags=re.M)[1:]:
        kind = re.search(r"deviceType\s*=\s*(\S+)", block)
        name = re.search(r"deviceName\s*=\s*(.+)", block)
        if kind and name and kind.group(1) == "PHYSICAL_DEVICE_TYPE_CPU":
            found.append(name.group(1).strip())
    return found


# A software Vulkan device is never chosen on its own: it computes on the CPU, slower than
# the CPU build. Asked for (the offload tests, `make test-vulkan`), it is used this way.
SOFTWARE_VULKAN_ASK = ("LLAMA_BACKEND=vulkan builds for it, and llama.cpp uses it only when "
                       "run with GGML_VK_VISIBLE_DEVICES=0")


def rocm_gpus(rocminfo: str | None) -> list:
    """(marketing name, gfx target) of each GPU agent in `rocminfo`; CPU agents are skipped."""
    gpus = []
    for agent in re.split(r"^\s*Agent \d+\s*$", rocminfo or "", flags=re.M)[1:]:
        if not re.search(r"^\s*Device Type:\s+GPU\s*$", agent, re.M):
            continue
        target = re.search(r"^\s*Name:\s+(gfx[0-9a-f]+)\s*$", agent, re.M)
        name = re.search(r"^\s*Marketing Name:\s+(.+?)\s*$", agent, re.M)
        if target:
            gpus.append((name.group(1) if name else target.group(1), target.group(1)))
    return gpus


def _wheel_command(backend: str) -> str:
    return (f"`make clean run` (or CMAKE_ARGS={FLAGS[backend]} pip install --force-reinstall "
            "--no-cache-dir llama-cpp-python)")


def choose(report: Report, forced: str | None = None) -> Choice:
    """The backend for this machine: CUDA > ROCm/HIP > Vulkan, Metal on Apple silicon, else CPU."""
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"backend {forced!r}: not one of {', '.join(BACKENDS)}")
        found = choose(report)  # keeps the detected extras (nvcc path, gfx targets) when they agree
        args = found.cmake_args if found.backend == forced else FLAGS[forced]
        why = f"{NAMES[forced]} build chosen by LLAMA_BACKEND={forced}"
        software = software_vulkan(report.vulkaninfo)
        if forced == "vulkan" and software and not vulkan_gpus(report.vulkaninfo):
            why += (f"; the only Vulkan device is {', '.join(software)}, a software device on "
                    "the CPU, which llama.cpp uses only with GGML_VK_VISIBLE_DEVICES=0")
        return Choice(forced, args, why, found.gpus)
    if report.system == "Darwin":
        if report.machine == "arm64":
            return Choice("metal", FLAGS["metal"], "Apple silicon (Darwin arm64) → Metal build")
        return Choice("cpu", "", "Intel Mac (Darwin x86_64): llama.cpp's Metal offload needs "
                      "Apple silicon → CPU build")
    nvidia = nvidia_gpus(report.nvidia_smi)
    cuda = cuda_release(report.nvcc)
    amd = [name for name, _ in rocm_gpus(report.rocminfo)]
    gfx = sorted({target for _, target in rocm_gpus(report.rocminfo)})
    vulkan = vulkan_gpus(report.vulkaninfo)
    vulkan_sdk = bool(report.glslc)
    if nvidia and cuda:
        args = FLAGS["cuda"]
        if report.nvcc_path and not report.nvcc_on_path:  # CMake looks for nvcc on PATH only
            args += " -DCMAKE_CUDA_COMPILER=" + report.nvcc_path
        return Choice("cuda", args, f"NVIDIA GPU found ({', '.join(nvidia)}) and CUDA {cuda} "
                      "(nvcc) → CUDA build", nvidia)
    if gfx and report.hipconfig is not None:
        return Choice("hip", FLAGS["hip"] + " -DAMDGPU_TARGETS=" + ";".join(gfx),
                      f"AMD GPU found ({', '.join(amd)}) and ROCm (hipconfig) → ROCm/HIP build", amd)
    if vulkan and vulkan_sdk:
        why = f"Vulkan GPU found ({', '.join(vulkan)}) and the Vulkan SDK (glslc) → Vulkan build"
        if nvidia:
            why += " (no CUDA toolkit, so not CUDA)"
        return Choice("vulkan", FLAGS["vulkan"], why, vulkan)
    # CPU build: one line saying what was found, what is missing and the command for offload.
    if nvidia:
        return Choice("cpu", "", f"NVIDIA GPU found ({', '.join(nvidia)}) but no CUDA toolkit "
                      "(nvcc) → CPU build; for offload install the CUDA toolkit, then "
                      + _wheel_command("cuda"), nvidia)
    if gfx:
        return Choice("cpu", "", f"AMD GPU found ({', '.join(amd)}) but no HIP SDK (hipconfig) "
                      "→ CPU build; for offload install ROCm's HIP SDK, then "
                      + _wheel_command("hip"), amd)
    if vulkan:
        return Choice("cpu", "", f"Vulkan GPU found ({', '.join(vulkan)}) but no Vulkan SDK "
                      "(glslc) → CPU build; for offload install the Vulkan SDK (or glslc and "
                      "libvulkan-dev), then " + _wheel_command("vulkan"), vulkan)
    if cuda:
        return Choice("cpu", "", f"CUDA {cuda} toolkit (nvcc) found but no NVIDIA GPU "
                      "(nvidia-smi -L lists none) → CPU build; on a machine with an NVIDIA GPU "
                      "and its driver, " + _wheel_command("cuda"))
    software = software_vulkan(report.vulkaninfo)
    if software:
        return Choice("cpu", "", f"No GPU found, only the software Vulkan device "
                      f"{', '.join(software)}, which runs on the CPU more slowly than the CPU "
                      f"build → CPU build ({SOFTWARE_VULKAN_ASK}); for offload install your "
                      "GPU's driver and toolkit, then `make clean run`")
    return Choice("cpu", "", "No GPU found (nvidia-smi, rocminfo and vulkaninfo list none) → "
                  "CPU build; for offload install your GPU's driver and toolkit (CUDA, ROCm or "
                  "the Vulkan SDK), then `make clean run` (or CMAKE_ARGS=-DGGML_CUDA=on, "
                  "-DGGML_HIP=on or -DGGML_VULKAN=on pip install --force-reinstall "
                  "--no-cache-dir llama-cpp-python)")


def _run(*cmd: str) -> str | None:
    """A tool's stdout, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _find(tool: str, env: dict, *homes: str) -> tuple:
    """(path, on PATH?) of a tool, looking on PATH, then in each home's bin folder."""
    found = shutil.which(tool)
    if found:
        return found, True
    for home in homes:
        base = env.get(home, home if home.startswith("/") else "")
        candidate = Path(base, "bin", tool) if base else None
        if candidate and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate), False
    return None, False


def probe() -> Report:
    """Ask this machine: platform, nvidia-smi, nvcc, vulkaninfo/glslc, rocminfo/hipconfig."""
    keys = ("CUDA_HOME", "CUDA_PATH", "VULKAN_SDK", "ROCM_PATH")
    env = {k: os.environ[k] for k in keys if os.environ.get(k)}
    nvcc, nvcc_on_path = _find("nvcc", env, "CUDA_HOME", "CUDA_PATH", "/usr/local/cuda")
    glslc, _ = _find("glslc", env, "VULKAN_SDK")
    vulkaninfo, _ = _find("vulkaninfo", env, "VULKAN_SDK")
    rocminfo, _ = _find("rocminfo", env, "ROCM_PATH", "/opt/rocm")
    hipconfig, _ = _find("hipconfig", env, "ROCM_PATH", "/opt/rocm")
    smi = shutil.which("nvidia-smi")
    return Report(
        system=platform.system(), machine=platform.machine(),
        nvidia_smi=_run(smi, "-L") if smi else None,
        nvcc=_run(nvcc, "--version") if nvcc else None, nvcc_path=nvcc, nvcc_on_path=nvcc_on_path,
        vulkaninfo=_run(vulkaninfo, "--summary") if vulkaninfo else None, glslc=glslc,
        rocminfo=_run(rocminfo) if rocminfo else None,
        hipconfig=_run(hipconfig, "--version") if hipconfig else None, env=env)


def record(choice: Choice) -> dict:
    """What the set-up keeps in $(VENV)/workbench-backend.json for `workbench doctor`."""
    data = asdict(choice)
    data["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return data


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m workbench.backend_choice",
                                     description="Pick llama.cpp's GPU backend for this machine.")
    parser.add_argument("--make", action="store_true",
                        help="print BACKEND=… and CMAKE_ARGS=… for the shell (the reason on stderr)")
    parser.add_argument("--json", metavar="PATH", help="write the record to PATH ('-': stdout)")
    parser.add_argument("--backend", default=os.environ.get("LLAMA_BACKEND") or None,
                        help="force a backend: " + ", ".join(BACKENDS))
    parser.add_argument("--note", help="replace the reason line (e.g. after a failed GPU build)")
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a C-locale terminal must not choke on the arrow
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        choice = choose(probe(), args.backend)
    except ValueError as err:
        print(f"backend_choice: {err}", file=sys.stderr)
        return 2
    if args.note:
        choice.reason = args.note
    print(f"llama.cpp backend: {choice.reason}", file=sys.stderr)
    if args.make:
        print(f"BACKEND={choice.backend}")
        print(f"CMAKE_ARGS={shlex.quote(choice.cmake_args)}")
    if args.json:
        text = json.dumps(record(choice), indent=2, ensure_ascii=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    if not (args.make or args.json):
        print(choice.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
