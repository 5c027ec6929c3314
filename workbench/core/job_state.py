"""One piece of long work as the app sees it: progress, partial results, a cancel request, an
outcome (Orange3's TaskState, Anki's CollectionOp).

Every long service call — a comparison run, an evaluation, a download, a tune job — takes or is
a ``JobState``: the work reports through it and checks ``cancelled``; whoever started it asks
for a cancel, waits, or watches (the window binds one bridge to it, ``ui/job_bridges.py JobBridge``).
Thread-safe; watchers are called on the worker's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


@dataclass(frozen=True)
class JobProgress:
    done: float = 0
    total: float = 0  # 0: unknown
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass
class JobWatcher:
    on_progress: Callable[[JobProgress], None] | None = None
    on_partial: Callable[[Any], None] | None = None
    on_finished: Callable[[JobState], None] | None = None


class JobState:
    def __init__(self, title: str = ""):
        self.title = title
        self.status = RUNNING
        self.progress = JobProgress()
        self.outcome: Any = None
        self.error: str | None = None
        self.done = threading.Event()  # set once the outcome is known
        self.cancel_requested = threading.Event()
        self._on_cancel: list[Callable[[], None]] = []
        self._watchers: list[JobWatcher] = []
        self._lock = threading.Lock()

    # -- asked by whoever started it ------------------------------------------------------

    def cancel(self) -> None:
        """Ask the work to stop; it ends as soon as it can, keeping what it has."""
        with self._lock:
            self.cancel_requested.set()
            hooks = list(self._on_cancel)
        for hook in hooks:
            hook()

    @property
    def cancelled(self) -> bool:
        return self.cancel_requested.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def watch(self, watcher: JobWatcher) -> JobWatcher:
        """Be told of progress, partial results and the end (at once if it has ended)."""
        with self._lock:
            ended = self.done.is_set()
            if not ended:
                self._watchers.append(watcher)
        if ended and watcher.on_finished is not None:
            watcher.on_finished(self)
        return watcher

    # -- told by the work -----------------------------------------------------------------

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` when a cancel is asked (now, if it already was): how work that waits
        on something else (a stream, a child process) is interrupted."""
        with self._lock:
            already = self.cancel_requested.is_set()
            if not already:
                self._on_cancel.append(hook)
        if already:
            hook()

    def set_progress(self, done: float, total: float = 0, message: str = "") -> None:
        self.progress = JobProgress(done, total, message)
        for watcher in self._current():
            if watcher.on_progress is not None:
                watcher.on_progress(self.progress)

    def add_partial(self, item: Any) -> None:
        for watcher in self._current():
            if watcher.on_partial is not None:
                watcher.on_partial(item)

    def finish(self, outcome: Any = None, status: str | None = None) -> None:
        """The work ended with ``outcome`` (status: done, or cancelled when one was asked)."""
        self._end(status or (CANCELLED if self.cancelled else DONE), outcome, None)

    def fail(self, error: str, outcome: Any = None) -> None:
        self._end(FAILED, outcome, error)

    def _end(self, status: str, outcome: Any, error: str | None) -> None:
        with self._lock:
            if self.done.is_set():
                return
            self.status, self.outcome, self.error = status, outcome, error
            watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            if watcher.on_finished is not None:
                watcher.on_finished(self)
        self.done.set()

    def _current(self) -> list[JobWatcher]:
        with self._lock:
            return list(self._watchers)
