"""Which experiment folders are running, finished or interrupted, and which one a resume takes.

While a process works on an experiment it holds the lease of the folder's lock file
(``run_lease``: the operating system lets go of it however the process ends, kill -9
included). A folder with a progress file, no final results and a free lease was interrupted;
one whose results say *cancelled* was stopped. Both can be resumed; a finished or failed one
cannot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import WorkbenchError
from ...core.paths import AppPaths
from .. import run_lease
from .folders import experiments_folder
from .progress_file import PROGRESS, ProgressFile

LOCK = "running.lock"
RESULTS = "results.json"
RESUMABLE = ("interrupted", "cancelled")


@dataclass(frozen=True)
class FolderState:
    folder: Path
    kind: str  # "few-shot", "quantlab" (the progress file's kind; "" without one)
    status: str  # running, interrupted, cancelled, done, failed; "unknown" without progress
    steps: int  # steps marked done

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    def __str__(self) -> str:
        return f"{self.folder.name}: {self.status} ({self.steps} step(s) done)"


def hold(folder: Path) -> None:
    """This process works on the folder until ``release`` (RunBusyError: another one does)."""
    run_lease.take(Path(folder) / LOCK, f"The experiment {Path(folder).name}")


def release(folder: Path) -> None:
    run_lease.give_back(Path(folder) / LOCK)


def state_of(folder: Path) -> FolderState:
    folder = Path(folder)
    try:
        progress = ProgressFile.load(folder)
    except WorkbenchError:
        progress = None
    kind = progress.data.get("kind", "") if progress else ""
    done = sum(1 for r in progress.steps() if r["data"].get("state", "done") == "done") \
        if progress else 0
    if run_lease.is_held(folder / LOCK):
        status = "running"
    elif (folder / RESULTS).is_file():
        status = _results_status(folder / RESULTS)
    elif progress is None:
        status = "unknown"  # kept before experiments recorded their steps
    else:
        status = "failed" if progress.data.get("status") == "failed" else "interrupted"
    return FolderState(folder, kind, status, done)


def _results_status(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("status", "done"))
    except (OSError, ValueError, AttributeError):
        return "unknown"


def resumable(paths: AppPaths | None, kind: str) -> list[FolderState]:
    """Interrupted or stopped experiments of ``kind``, newest first."""
    parent = experiments_folder(paths)
    if not parent.is_dir():
        return []
    folders = sorted((f for f in parent.iterdir() if (f / PROGRESS).is_file()),
                     key=lambda f: f.name, reverse=True)
    states = (state_of(folder) for folder in folders)
    return [state for state in states if state.kind == kind and state.resumable]


def to_resume(paths: AppPaths | None, kind: str, folder: str | Path | None) -> FolderState:
    """The folder a resume goes on with: the one given, else the newest resumable of
    ``kind``; WorkbenchError says why none can be."""
    if not folder:
        found = resumable(paths, kind)
        if not found:
            raise WorkbenchError(f"No interrupted or stopped {kind} experiment to resume "
                                 f"(in {experiments_folder(paths)}).")
        return found[0]
    path = Path(folder).expanduser()
    if path.name in (RESULTS, PROGRESS):
        path = path.parent
    if not (path / PROGRESS).is_file():
        raise WorkbenchError(f"{path} is not an experiment folder that recorded its steps "
                             f"(no {PROGRESS}).")
    state = state_of(path)
    if state.kind != kind:
        raise WorkbenchError(f"{path} is a {state.kind or 'different'} experiment, not {kind}.")
    if not state.resumable:
        raise WorkbenchError(f"The experiment {path.name} is {state.status}: only an "
                             "interrupted or stopped one can be resumed.")
    return state
