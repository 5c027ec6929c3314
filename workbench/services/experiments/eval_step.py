"""An experiment's evaluation run as a step that survives a kill: its run id is marked in the
progress file as soon as its first cell is stored, so that a resume finishes that very run
(``EvalService.resume``: only the missing cells, same seeds) instead of starting another."""

from __future__ import annotations

import threading

from ...core.errors import NotFoundError
from ...core.job_state import JobState, JobWatcher
from ...core.runs import Output, RunStatus
from .. import run_state
from .progress_file import ProgressFile


class MarkRunStarted:
    """A run listener that marks ``(step, key)`` as started with the run's id when the first
    output arrives (from the engine's worker threads; once)."""

    def __init__(self, progress: ProgressFile, step: str, key: str, **fields):
        self.progress, self.step, self.key, self.fields = progress, step, key, fields
        self._marked = threading.Event()

    def cell_started(self, variant_id: str, case_id: str) -> None: ...

    def cell_token(self, variant_id: str, case_id: str, text: str) -> None: ...

    def run_finished(self, run_id: str, status: RunStatus) -> None: ...

    def cell_finished(self, output: Output) -> None:
        if not self._marked.is_set():
            self._marked.set()
            self.progress.mark(self.step, self.key, state="started", run_id=output.run_id,
                               **self.fields)


def run_status(store, run_id: str | None) -> RunStatus | None:
    """The run's status as the user should see it (a dead process's run is interrupted);
    None when there is no such run (any more)."""
    if not run_id:
        return None
    run_state.find_interrupted(store)
    try:
        return store.runs.get(run_id).status
    except NotFoundError:
        return None


def step_job(job: JobState, title: str, watcher: JobWatcher | None = None) -> JobState:
    """A job for one evaluation run of an experiment: ``watcher`` sees its progress (cells
    done of all, "N failed" as the message: the evaluation's JobProgress); the experiment's
    ``job`` cancels it (at once if it already was)."""
    sub = JobState(title)
    if watcher is not None:
        sub.watch(watcher)
    job.on_cancel(sub.cancel)
    return sub


def finish_run(evaluation, run_id: str, job: JobState,
               watcher: JobWatcher | None = None) -> None:
    """Finish an interrupted or stopped evaluated run in place (blocking); the experiment's
    ``job`` cancels it, ``watcher`` sees its progress over the whole run. A run that ended
    meanwhile is left as it is."""
    if run_status(evaluation.store, run_id) not in run_state.RESUMABLE:
        return
    sub = step_job(job, f"resume of run {run_id[:8]}", watcher)
    if sub.cancelled:
        return
    evaluation.resume(run_id, job=sub)
