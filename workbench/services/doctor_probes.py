"""What `workbench doctor` asks the machine: nvidia-smi, the dynamic linker's cache, a
throw-away Qt start and PyTorch's device. The parsers are pure functions of the tools' text so
they are tested on recorded outputs; the probes run the tools with timeouts and never raise for
a missing tool.

Each probe is a child process the report would otherwise wait for in turn (PyTorch's import
alone took 10-14 s on a busy machine): ``start_early`` starts them all at once, each waited on
by a thread of its own, and the report's sections take their answers when they get to them.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..library.gpu_devices import DeviceProbe, backend_devices
from ..library.offload import compiled_backends

PROBE_TIMEOUT_S = 10
TORCH_TIMEOUT_S = 120  # importing torch from a cold disk on a busy machine

_early: dict[str, Future] = {}  # probe name -> its answer on the way (start_early)
_early_lock = threading.Lock()


def can_start_early(probe: Callable) -> Callable:
    """A probe whose answer ``start_early`` can ask for ahead of time: the next call takes
    that answer (once), any other call runs the probe."""

    @functools.wraps(probe)
    def answer(*args, **kwargs):
        with _early_lock:
            future = None if args or kwargs else _early.pop(probe.__name__, None)
        return future.result() if future is not None else probe(*args, **kwargs)

    return answer


def start_early(*probes: Callable) -> None:
    """Start these probes now, at once: each thread only waits on its child process."""
    pool = ThreadPoolExecutor(max_workers=len(probes) or 1, thread_name_prefix="doctor-probe")
    with _early_lock:
        for probe in probes:
            _early[probe.__name__] = pool.submit(probe.__wrapped__)
    pool.shutdown(wait=False)

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


@can_start_early
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


@can_start_early
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


@can_start_early
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


# In a child too: the window's process need not hold torch (hundreds of MB) for one line of a
# report, and its import does not hold the report's other checks or the window's GIL.
_TORCH_DEVICE = ("import json, dataclasses\n"
                 "try:\n"
                 "    from workbench.tuning.device import describe_torch_device\n"
                 "    print(json.dumps(dataclasses.asdict(describe_torch_device())))\n"
                 "except ImportError as error:\n"
                 "    print(json.dumps({'missing': str(error)}))\n")


@dataclass(frozen=True)
class TorchProbe:
    found: dict | None  # TorchDevice's fields (version, device, detail); None: no torch
    failure: str = ""  # why the child gave no answer


@can_start_early
def torch_device() -> TorchProbe:
    """What tuning.device.describe_torch_device says: read from the installed files where
    they settle it, else asked in a child process."""
    return torch_from_files() or torch_in_child()


def torch_from_files() -> TorchProbe | None:
    """No torch, or a CPU-only build away from macOS (no CUDA, ROCm or MPS to look for):
    the answer without importing torch; None when only torch itself can tell."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return TorchProbe(None)
    build = torch_build(Path(spec.origin).with_name("version.py"))
    if (not build.get("__version__") or sys.platform == "darwin"
            or any(build.get(name) for name in ("cuda", "hip", "rocm"))):
        return None
    return TorchProbe({"version": build["__version__"], "device": "cpu",
                       "detail": "a CPU-only build of PyTorch"})


def torch_in_child() -> TorchProbe:
    try:
        done = subprocess.run([sys.executable, "-c", _TORCH_DEVICE], capture_output=True,
                              text=True, timeout=TORCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return TorchProbe(None, f"importing PyTorch took over {TORCH_TIMEOUT_S} s")
    except OSError as error:
        return TorchProbe(None, f"cannot run {sys.executable}: {error.strerror}")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = done.stderr.strip().splitlines()
        return TorchProbe(None, f"the probe exited with status {done.returncode}"
                                + (f": {last[-1]}" if last else ""))
    return TorchProbe(None if "missing" in answer else answer)


def torch_build(version_file: Path) -> dict:
    """The constants of torch/version.py (``__version__``, ``cuda``, ``hip`` …), read
    without importing torch; {} when it cannot be read."""
    try:
        tree = ast.parse(version_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    found = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target",
                                                                               None)
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            try:
                found[target.id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


@dataclass(frozen=True)
class BackendDevices:
    backends: tuple[str, ...]  # the GPU back-ends llama.cpp was built with ("vulkan",)
    probe: DeviceProbe  # the devices they see, with free memory, or why they could not say


@can_start_early
def gpu_backend_devices() -> BackendDevices | None:
    """The GPU devices llama.cpp's own back-ends see, asked in a child process; None for a
    CPU build (nothing to ask, nothing started)."""
    backends = compiled_backends()
    if not backends:
        return None
    return BackendDevices(backends, backend_devices())


# llama.cpp too: the window's process does not load llama.cpp (its model hosts do), and its
# import held the window's GIL for a moment on a busy machine.
_LLAMA_BUILD = ("import json\n"
                "try:\n"
                "    import llama_cpp\n"
                "except Exception as error:\n"
                "    print(json.dumps({'error': str(error)}))\n"
                "    raise SystemExit(0)\n"
                "info = llama_cpp.llama_print_system_info()\n"
                "info = info.decode(errors='replace') if isinstance(info, bytes) else str(info)\n"
                "print(json.dumps({'version': llama_cpp.__version__, 'info': info,\n"
                "                  'offload': bool(llama_cpp.llama_supports_gpu_offload())}))\n")


@dataclass(frozen=True)
class LlamaBuild:
    version: str = ""
    offload: bool = False  # the build supports GPU offload
    info: str = ""  # llama.cpp's system info line
    error: str = ""  # why llama_cpp cannot be imported (or the probe gave no answer)


@can_start_early
def llama_build() -> LlamaBuild:
    """The installed llama.cpp as a child process imports it."""
    try:
        done = subprocess.run([sys.executable, "-c", _LLAMA_BUILD], capture_output=True,
                              text=True, timeout=TORCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return LlamaBuild(error=f"importing llama_cpp took over {TORCH_TIMEOUT_S} s")
    except OSError as error:
        return LlamaBuild(error=f"cannot run {sys.executable}: {error.strerror}")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = done.stderr.strip().splitlines()
        return LlamaBuild(error=f"the import ended the process (status {done.returncode})"
                                + (f": {last[-1]}" if last else ""))
    return LlamaBuild(**answer)
