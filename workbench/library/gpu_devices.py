"""The GPU devices llama.cpp's own back-ends see, with their free memory, asked of ggml.

nvidia-smi tells free VRAM for NVIDIA cards only; a Vulkan, ROCm or other GPU build of
llama.cpp knows its devices' memory itself (ggml_backend_dev_memory: Vulkan's memory budget,
hipMemGetInfo …), the same figure llama.cpp logs when it loads a model ("using device Vulkan0
(…) - 2048 MiB free"). The question is asked in a child process (``python -m
workbench.library.gpu_devices``), because the app's own process never loads llama.cpp; the
child inherits the environment, so a device hidden from the model host (e.g. a CPU-type
Vulkan device without GGML_VK_VISIBLE_DEVICES) is hidden from the answer too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass

PROBE_TIMEOUT_S = 60  # importing llama.cpp and starting a Vulkan instance on a busy machine
MiB = 1024 * 1024

# ggml_backend_dev_type (ggml-backend.h): CPU, GPU, integrated GPU, accelerator (BLAS …).
DEVICE_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


@dataclass(frozen=True)
class GpuDevice:
    name: str  # ggml's name: "Vulkan0", "CUDA0", "ROCm0"
    description: str  # the driver's: "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA H100 …"
    kind: str  # "gpu" or "igpu"
    free: int  # bytes
    total: int

    def label(self) -> str:
        """``Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))``: how llama.cpp's log names it."""
        return f"{self.name} ({self.description})" if self.description else self.name


@dataclass(frozen=True)
class DeviceProbe:
    devices: tuple[GpuDevice, ...]
    problem: str = ""  # why the back-end could not be asked ("" when it answered)


def devices_of(lib) -> list[GpuDevice]:
    """The GPU-type devices registered with ggml, asked through a loaded llama.cpp library
    (``llama_cpp.llama_cpp._lib``: ggml's symbols resolve through libllama's dependencies)."""
    import ctypes

    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_memory.restype = None
    lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                            ctypes.POINTER(ctypes.c_size_t)]
    found = []
    for index in range(lib.ggml_backend_dev_count()):
        device = lib.ggml_backend_dev_get(index)
        kind = DEVICE_KINDS.get(lib.ggml_backend_dev_type(device), "other")
        if kind not in ("gpu", "igpu"):
            continue  # the CPU back-end (and BLAS) hold no layers of their own
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(device, ctypes.byref(free), ctypes.byref(total))
        found.append(GpuDevice(
            name=(lib.ggml_backend_dev_name(device) or b"").decode("utf-8", "replace"),
            description=(lib.ggml_backend_dev_description(device) or b"").decode(
                "utf-8", "replace").strip(),
            kind=kind, free=int(free.value), total=int(total.value)))
    return found


def backend_devices(timeout_s: float = PROBE_TIMEOUT_S) -> DeviceProbe:
    """The installed llama.cpp's GPU devices, asked in a child process; never raises."""
    try:
        done = subprocess.run([sys.executable, "-m", "workbench.library.gpu_devices"],
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return DeviceProbe((), f"llama.cpp's devices did not answer within {timeout_s:.0f} s")
    except OSError as error:
        return DeviceProbe((), f"cannot run {sys.executable}: {error.strerror}")
    return parse_probe(done.stdout, done.returncode, done.stderr)


def parse_probe(stdout: str, returncode: int = 0, stderr: str = "") -> DeviceProbe:
    """The child's last line: a JSON list of devices, or {"error": …}."""
    try:
        answer = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = [line for line in stderr.strip().splitlines() if line.strip()]
        return DeviceProbe((), f"the device probe exited with status {returncode}"
                               + (f": {last[-1].strip()}" if last else ""))
    if isinstance(answer, dict):
        return DeviceProbe((), str(answer.get("error", "no answer")))
    try:
        return DeviceProbe(tuple(GpuDevice(**device) for device in answer))
    except TypeError as error:
        return DeviceProbe((), f"the device probe answered in an unknown shape ({error})")


def describe_devices(devices: tuple[GpuDevice, ...] | list[GpuDevice]) -> str:
    """``Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)), 2,048 MiB free of 2,048 MiB`` for each."""
    return "; ".join(f"{d.label()}, {d.free // MiB:,} MiB free of {d.total // MiB:,} MiB"
                     for d in devices)


# llama.cpp's line at each model load, with the device's id (PCI bus, or "unknown id") in the
# second parentheses: "llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe (LLVM
# 15.0.6, 256 bits)) (unknown id) - 2048 MiB free"; older ones have no id.
_USING_DEVICE = re.compile(r"using device (\S+) \((.*?)\)"
                           r"(?: \((?:unknown id|[0-9a-fA-F]{4}:[0-9a-fA-F:.]+)\))? - (\d+) MiB free")


def devices_in_log(log: str) -> list[tuple[str, int]]:
    """(label, MiB free) of each device llama.cpp said it uses for a load, in its order."""
    return [(f"{match.group(1)} ({match.group(2)})", int(match.group(3)))
            for match in _USING_DEVICE.finditer(log)]


def main() -> int:
    try:
        import llama_cpp

        llama_cpp.llama_backend_init()
        devices = devices_of(llama_cpp.llama_cpp._lib)
    except Exception as error:  # noqa: BLE001 - a broken build is the answer
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 0
    print(json.dumps([asdict(device) for device in devices]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
