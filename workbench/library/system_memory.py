"""Free RAM and free VRAM on this machine, or None with the reason it is unknown.

Standard library only (no psutil dependency): Linux's /proc/meminfo, sysconf elsewhere, and
``nvidia-smi`` for NVIDIA GPUs. Other GPUs (AMD, Intel, Vulkan) have no portable query, so
their free VRAM is reported as unknown rather than guessed; Apple silicon shares RAM with the GPU.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Memory:
    free_ram: int | None
    total_ram: int | None
    free_vram: int | None
    total_vram: int | None
    gpu: str  # what the GPU is, or why VRAM is unknown
    unified: bool = False  # Apple silicon: the GPU uses system RAM


def system_memory() -> Memory:
    free_ram, total_ram = _ram()
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return Memory(free_ram, total_ram, free_ram, total_ram, "Apple silicon (unified memory)",
                      unified=True)
    free_vram, total_vram, gpu = _nvidia()
    return Memory(free_ram, total_ram, free_vram, total_vram, gpu)


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
