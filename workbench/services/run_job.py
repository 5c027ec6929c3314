"""A comparison run as a job: its listener protocol and its handle (progress in cells, cancel,
the final RunStatus as outcome)."""

from __future__ import annotations

import threading
from typing import Protocol

from ..core.job_state import CANCELLED, DONE, FAILED, JobState
from ..core.runs import Output, Run, RunStatus
from .evaluation.javascript import CaseVariables
from .retrieval_context import CaseRetriever


class RunListener(Protocol):
    """Called from worker threads; the GUI turns these into queued Qt signals."""

    def cell_started(self, variant_id: str, case_id: str) -> None: ...
    def cell_token(self, variant_id: str, case_id: str, text: str) -> None: ...
    def cell_finished(self, output: Output) -> None: ...
    def run_finished(self, run_id: str, status: RunStatus) -> None: ...


JOB_STATUS = {RunStatus.DONE: DONE, RunStatus.CANCELLED: CANCELLED, RunStatus.FAILED: FAILED}


class RunHandle(JobState):
    """A comparison run as a job: progress in cells, cancel (running generations end within a
    second, queued ones never start), the final RunStatus as its outcome."""

    def __init__(self, run: Run, cells: int = 0, retriever: CaseRetriever | None = None):
        super().__init__(run.name or "comparison")
        self.run = run
        self.retriever = retriever  # each case's {{ context }}, searched once per run
        self.variables = CaseVariables()  # each case's transformVars, run once per run
        self.cells = cells
        self._finished_cells = 0
        self._streams: set = set()
        self._streams_lock = threading.Lock()
        self.on_cancel(self._cancel_streams)

    def _cancel_streams(self) -> None:
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream.cancel()

    def _track(self, stream) -> None:
        with self._streams_lock:
            self._streams.add(stream)
        if self.cancelled:
            stream.cancel()

    def _untrack(self, stream) -> None:
        """A finished cell's stream: nothing left to cancel (and a long run must not keep
        every stream it made)."""
        with self._streams_lock:
            self._streams.discard(stream)

    def _cell_done(self, count: int = 1) -> None:
        with self._streams_lock:
            self._finished_cells += count
            done = self._finished_cells
        self.set_progress(done, self.cells, "cells")
