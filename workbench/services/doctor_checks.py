"""The Qt, database and Ray sections of `workbench doctor` (services/doctor.py runs them).

Qt is looked at from outside: services may not import PySide6 (import-linter), and a failed
Qt start aborts the process, so the platform is tried in a child (doctor_probes.try_qt_start).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from . import doctor_probes as probes
from .doctor_status import OK, PROBLEM, WARNING, Check

HEADLESS_HINT = "or set QT_QPA_PLATFORM=offscreen to run without a screen (tests, CLI)"


def qt_checks() -> Iterator[Check]:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        yield Check("Qt", "PySide6", PROBLEM, "PySide6 is not installed: the window cannot open",
                    f"{sys.executable} -m pip install PySide6")
        return
    folder = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms"
    plugins = sorted(match.group(1) for f in (folder.iterdir() if folder.is_dir() else ())
                     if (match := re.match(r"(?:lib)?q(\w+)\.(?:so|dylib|dll)$", f.name)))
    yield Check("Qt", "plugins", OK if plugins else WARNING,
                f"{', '.join(plugins) or 'none found'} in {folder}")
    requested = os.environ.get("QT_QPA_PLATFORM", "")
    wanted = requested.split(":")[0] or _default_platform()
    missing = _missing_libraries()
    if missing is None:
        if sys.platform.startswith("linux"):
            yield Check("Qt", "libraries", WARNING, "ldconfig not found: system libraries "
                        "for the xcb plugin were not checked")
    elif missing:
        # Only the xcb platform (the X11 desktop) needs them; offscreen runs without.
        yield Check("Qt", "libraries", PROBLEM if wanted == "xcb" else WARNING,
                    f"missing for the xcb platform: {', '.join(missing)}",
                    probes.apt_line(missing))
    else:
        yield Check("Qt", "libraries", OK, "the xcb platform's system libraries are present")
    setting = (f"QT_QPA_PLATFORM={requested}" if requested
               else f"QT_QPA_PLATFORM not set: Qt picks {wanted}")
    start = probes.try_qt_start()
    if start.platform:
        yield Check("Qt", "platform", OK, f"{start.platform} starts ({setting})")
        return
    yield Check("Qt", "platform", PROBLEM,
                f"the {wanted} platform cannot start ({setting}): {start.message}",
                _start_fix(start.message, missing))


def _default_platform() -> str:
    if sys.platform == "darwin":
        return "cocoa"
    if sys.platform.startswith("win"):
        return "windows"
    # Qt 6 prefers Wayland in a Wayland session, else X11.
    wayland = os.environ.get("XDG_SESSION_TYPE") == "wayland" and os.environ.get(
        "WAYLAND_DISPLAY")
    return "wayland" if wayland else "xcb"


def _missing_libraries() -> list[str] | None:
    if not sys.platform.startswith("linux"):
        return []
    known = probes.linker_libraries()
    return None if known is None else probes.missing_libraries(known)


def _start_fix(message: str, missing: list[str] | None) -> str:
    if missing:
        return f"{probes.apt_line(missing)}, {HEADLESS_HINT}"
    if "could not connect to display" in message:
        display = os.environ.get("DISPLAY")
        where = (f"check that the X display {display} is reachable" if display
                 else "start it inside a desktop session (DISPLAY is not set)")
        return f"{where}, {HEADLESS_HINT}"
    return f"run with QT_DEBUG_PLUGINS=1 to see Qt's reasons, {HEADLESS_HINT}"


def database_check(path: Path) -> Check:
    """Opened read-only and never migrated: the doctor looks, it does not change anything."""
    from ..core.errors import WorkbenchError
    from ..store.database import open_database
    from ..store.revisions import head_revision, known_revisions

    if not path.exists():
        return Check("Database", "database", OK, f"{path} (created on first start)")
    try:
        database = open_database(path, read_only=True)  # its schema as it is
    except WorkbenchError as error:
        return Check("Database", "database", PROBLEM, str(error),
                     "start the app: a damaged database is set aside and a new one started")
    try:
        revision = database.revision()
    finally:
        database.close()
    head = head_revision()
    if revision == head:
        return Check("Database", "database", OK, f"{path}, schema {revision} (current)")
    if revision is None or revision in known_revisions():
        return Check("Database", "database", WARNING,
                     f"{path}, schema {revision or 'empty'}: upgraded to {head} at the next "
                     "start (a backup is kept)")
    return Check("Database", "database", PROBLEM,
                 f"{path}, schema {revision} is newer than this app knows ({head})",
                 "update Prompt Workbench, or set WORKBENCH_HOME to use another database")


def gui_start_problem() -> str | None:
    """Why the window cannot open here, in one line, or None. Checked before Qt starts: when
    the xcb platform lacks a system library, or has no display, Qt aborts the process with a
    page of plugin diagnostics instead of an error the app could catch."""
    requested = os.environ.get("QT_QPA_PLATFORM", "")
    if (requested.split(":")[0] or _default_platform()) != "xcb":
        return None
    if not os.environ.get("DISPLAY"):
        return ("The window cannot open: no X display (DISPLAY is not set). Start it inside a "
                f"desktop session, {HEADLESS_HINT}.")
    missing = _missing_libraries()
    if missing:
        return (f"The window cannot open: Qt's X11 (xcb) platform needs {', '.join(missing)}; "
                f"install them with `{probes.apt_line(missing)}`, {HEADLESS_HINT}. "
                "`workbench doctor` checks the rest.")
    return None


def ray_checks(address: str | None) -> Iterator[Check]:
    """The Ray version (the ``ray`` extra, for tune jobs on a cluster); given an address,
    whether the cluster answers and what it has."""
    from ..core.tuning_errors import TuningError
    from ..core.wording import counted
    from ..tuning.on_ray.probe import INSTALL_HINT, cluster_resources, ray_version

    version = ray_version()
    if version is None:
        yield Check("Ray", "ray", WARNING if address else OK,
                    "not installed: tune jobs train on this machine only",
                    INSTALL_HINT.split(": ", 1)[1])
        return
    yield Check("Ray", "ray", OK, f"ray {version}: tune jobs can run on a Ray cluster")
    if not address:
        return
    try:
        found = cluster_resources(address)
    except TuningError as error:
        yield Check("Ray", "cluster", PROBLEM, str(error),
                    "start it with `ray start --head` on the head node, or fix the address")
        return
    gpus = f", {found['GPU']:g} GPUs" if found["GPU"] else ", no GPUs"
    yield Check("Ray", "cluster", OK, f"{address} answers: {counted(found['nodes'], 'node')}, "
                                      f"{found['CPU']:g} CPUs{gpus}, "
                                      f"{found['memory_gib']:g} GiB memory")
