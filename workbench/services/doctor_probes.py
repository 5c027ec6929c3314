"""What `workbench doctor` asks the machine: nvidia-smi, the dynamic linker's cache, and a
throw-away Qt start. The parsers are pure functions of the tools' text so they are tested on
recorded outputs; the probes run the tools with timeouts and never raise for a missing tool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

PROBE_TIMEOUT_S = 10

# What Qt's xcb plugin needs and a bare desktop (or a container) often lacks, with the Debian /
# Ubuntu package that provides each: Qt's own error names only the first one it trips over.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
}


@dataclass(frozen=True)
class Gpu:
    name: str
    total_mib: int
    free_mib: int


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """Lines of ``--query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits``.
    The name may contain commas, so the two numbers are split off the right."""
    gpus = []
    for line in text.strip().splitlines():
        try:
            name, total, free = (part.strip() for part in line.rsplit(",", 2))
            gpus.append(Gpu(name, int(float(total)), int(float(free))))
        except ValueError:
            continue  # "[N/A]" or a warning line: not a GPU we can use figures of
    return gpus


def nvidia_gpus() -> tuple[list[Gpu], str]:
    """The GPUs nvidia-smi lists, and '' or why it could not be asked."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], "nvidia-smi is not on PATH"
    try:
        done = subprocess.run(
            [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as error:
        return [], f"nvidia-smi failed ({type(error).__name__})"
    if done.returncode != 0:
        first = (done.stdout + done.stderr).strip().splitlines()
        return [], f"nvidia-smi failed: {first[0] if first else f'exit {done.returncode}'}"
    return parse_nvidia_smi(done.stdout), ""


def parse_ldconfig(text: str) -> set[str]:
    """The library names (sonames) in ``ldconfig -p`` output."""
    return {match.group(1) for match in re.finditer(r"^\s*(\S+\.so[.\d]*)\s+\(", text, re.M)}


def missing_libraries(known: set[str]) -> list[str]:
    return [name for name in XCB_LIBRARIES if name not in known]


def linker_libraries() -> set[str] | None:
    """Sonames the dynamic linker knows, or None where there is no ldconfig (not Linux)."""
    exe = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(p)), None)
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-p"], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_ldconfig(done.stdout) if done.returncode == 0 else None


def apt_line(libraries: list[str]) -> str:
    packages = sorted({XCB_LIBRARIES[name] for name in libraries if name in XCB_LIBRARIES})
    return "sudo apt install " + " ".join(packages)


# A child process, not this one: a Qt start that fails aborts the process, and services may not
# import PySide6 (import-linter) anyway.
_QT_START = ("import sys\nfrom PySide6.QtWidgets import QApplication\n"
             "app = QApplication(sys.argv[:1])\nprint('platform=' + app.platformName())\n")


@dataclass(frozen=True)
class QtStart:
    platform: str  # the plugin Qt started with, '' when it could not start
    message: str  # Qt's own lines saying why (plugin errors first)


def try_qt_start(env: dict[str, str] | None = None) -> QtStart:
    try:
        done = subprocess.run([sys.executable, "-c", _QT_START], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return QtStart("", f"Qt did not start within {PROBE_TIMEOUT_S} s")
    except OSError as error:
        return QtStart("", f"cannot run {sys.executable}: {error.strerror}")
    found = re.search(r"^platform=(\S*)", done.stdout, re.M)
    if done.returncode == 0 and found:
        return QtStart(found.group(1), "")
    return QtStart("", qt_failure(done.stderr) or f"Qt exited with status {done.returncode}")


def qt_failure(stderr: str) -> str:
    """The lines of a failed Qt start that name the cause, most specific first. Qt 6.5+ always
    adds a generic 'xcb-cursor0 … is needed' hint, which is dropped here: ldconfig says whether
    that library is really missing."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    causes = [line.split(": ", 1)[-1] for line in lines
              if line.startswith(("qt.qpa.xcb:", "qt.qpa.wayland:"))
              or "cannot open shared object" in line]
    plugin = [line.split(": ", 1)[-1] for line in lines
              if line.startswith("qt.qpa.plugin:") and "is needed to load" not in line]
    return "; ".join(dict.fromkeys(causes + plugin))
