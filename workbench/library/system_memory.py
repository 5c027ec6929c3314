"""Free RAM and free VRAM on this machine, or None with the reason it is unknown.

Standard library only (no psutil dependency): Linux's /proc/meminfo, sysconf elsewhere, and
``nvidia-smi`` for NVIDIA GPUs. Other GPUs (AMD, Intel, any Vulkan device) are asked through
llama.cpp's own back-end when the installed build has one (gpu_devices.py, in a child process);
without either, free VRAM is reported as unknown rather than guessed. Apple silicon shares RAM
with the GPU.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass

from .gpu_devices import DeviceProbe, backend_devices


@dataclass(frozen=True)
class Memory:
    free_ram: int | None
    total_ram: int | None
    free_vram: int | None
    total_vram: int | None
    gpu: str  # what the GPU is, or why VRAM is unknown
    unified: bool = False  # Apple silicon: the GPU uses system RAM
    # The device(s) llama.cpp's back-end reported the free memory of ("Vulkan0 (llvmpipe …)");
    # "" when the figure is nvidia-smi's (or unknown).
    device: str = ""


def system_memory(*, vram: bool = True, asked: DeviceProbe | None = None) -> Memory:
    """Free and total RAM, and VRAM unless ``vram`` is False (RAM only: nothing is started).
    ``asked``: llama.cpp's back-end already answered (the doctor asks it once, early)."""
    free_ram, total_ram = _ram()
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return Memory(free_ram, total_ram, free_ram, total_ram, "Apple silicon (unified memory)",
                      unified=True)
    if not vram:
        return Memory(free_ram, total_ram, None, None, "free VRAM not asked")
    free_vram, total_vram, gpu = _nvidia()
    if free_vram is None:
        from_backend = _from_backend(asked)
        if from_backend is not None:
            return Memory(free_ram, total_ram, *from_backend)
    return Memory(free_ram, total_ram, free_vram, total_vram, gpu)


Asked = tuple[int | None, int | None, str, bool, str]  # free, total, gpu, unified, device


def _from_backend(asked: DeviceProbe | None) -> Asked | None:
    """Free VRAM as the installed llama.cpp's GPU back-end reports it, or None when the build
    has no GPU back-end (nothing is started then)."""
    from .offload import compiled_backends  # offload imports this module: imported late

    backends = compiled_backends()
    if not backends:
        return None
    return vram_from_backend(backends, asked or backend_devices())


def vram_from_backend(backends: tuple[str, ...], probe: DeviceProbe) -> Asked:
    """(free, total, gpu, unified, device) from the devices the back-end listed."""
    names = "/".join(backends)
    if probe.problem:
        return None, None, f"free VRAM unknown: the {names} build could not be asked " \
                           f"({probe.problem})", False, ""
    if not probe.devices:
        return None, None, f"free VRAM unknown: the {names} build of llama.cpp sees no GPU " \
                           "device", False, ""
    # llama.cpp spreads offloaded layers over all its devices, so their free memory adds up.
    label = " + ".join(device.label() for device in probe.devices)
    return (sum(d.free for d in probe.devices), sum(d.total for d in probe.devices), label,
            False, label)


def _ram() -> tuple[int | None, int | None]:
    try:
        values = {}
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
        # MemAvailable counts reclaimable page cache, which is what a new process can get.
        return values.get("MemAvailable", values.get("MemFree")), values.get("MemTotal")
    except (OSError, ValueError, IndexError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * page
        except (ValueError, OSError):
            free = None
        return free, total
    except (ValueError, OSError, AttributeError):
        return None, None


def _nvidia() -> tuple[int | None, int | None, str]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None, None, "free VRAM unknown: no NVIDIA GPU found (nvidia-smi is not installed)"
    try:
        result = subprocess.run(
            [exe, "--query-gpu=name,memory.free,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return None, None, f"free VRAM unknown: nvidia-smi failed ({type(error).__name__})"
    names, free, total = [], 0, 0
    for line in result.stdout.strip().splitlines():
        try:
            name, free_mib, total_mib = (part.strip() for part in line.rsplit(",", 2))
            free += int(float(free_mib)) * 1024 * 1024
            total += int(float(total_mib)) * 1024 * 1024
            names.append(name)
        except ValueError:
            continue
    if not names:
        return None, None, "free VRAM unknown: nvidia-smi lists no GPU"
    # llama.cpp spreads offloaded layers over all GPUs, so their free memory adds up.
    return free, total, " + ".join(names)
