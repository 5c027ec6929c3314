"""Which runs are really running: a run in progress holds a lock file beside the database for
as long as its process works on it. The operating system releases such a lock however the
process ends (kill -9 and power loss included), so a run stored as *running* whose lock is
free was interrupted: no heartbeat to tune, no process id that could be reused.

The same lease holds any other piece of work kept on disk (``take``/``give_back``/``is_held``
on a lock file of its own: an experiment's folder has one)."""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock, Timeout

from ..core.errors import WorkbenchError

_held: dict[str, FileLock] = {}  # path of the lock file -> this process's lock on it
_held_lock = threading.Lock()


class RunBusyError(WorkbenchError):
    """Another process (or this one) is working on the run."""


def lock_folder(database: Path) -> Path:
    return Path(f"{database}.runs")


def _lock_path(database: Path, run_id: str) -> Path:
    return lock_folder(database) / f"{run_id}.lock"


def hold(database: Path, run_id: str) -> None:
    """Take the run's lease for this process (until ``release``). Raises RunBusyError when
    another process holds it."""
    take(_lock_path(database, run_id), f"Run {run_id[:8]}")


def release(database: Path, run_id: str) -> None:
    give_back(_lock_path(database, run_id))


def is_alive(database: Path, run_id: str) -> bool:
    """True while some process (this one included) holds the run's lease."""
    return is_held(_lock_path(database, run_id))


def take(path: Path, what: str) -> None:
    """Take the lease kept in the lock file ``path`` for this process (until ``give_back``);
    ``what`` names the work in the RunBusyError raised when it is held already."""
    key = str(path)
    with _held_lock:
        if key in _held:
            raise RunBusyError(f"{what} is already running in this window or command.")
        path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: the run's supervisor thread releases what its starter took.
        lock = FileLock(key, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise RunBusyError(f"{what} is running in another process; wait for it, "
                               "or stop that process first.") from None
        _held[key] = lock


def give_back(path: Path) -> None:
    with _held_lock:
        lock = _held.pop(str(path), None)
    if lock is not None:
        lock.release()
        path.unlink(missing_ok=True)


def is_held(path: Path) -> bool:
    """True while some process (this one included) holds the lease in ``path``."""
    with _held_lock:
        if str(path) in _held:
            return True
    if not path.exists():
        return False
    probe = FileLock(str(path), timeout=0, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False
