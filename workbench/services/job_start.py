"""The one way to start long work: the service creates the ``JobState``, runs the work in a
thread and returns the job at once; whoever asked watches it, cancels it or waits for it.

``watcher`` is bound before the work starts, so no early progress is missed (the window gives
its ``JobBridge``'s watcher, the CLI its progress line). The work's own outcome finishes the
job; an error fails it with its message (a bug also prints its traceback: it is not the
user's to fix). Work that ends the job itself (cancelled, or failed with a report so far) is
not overruled: a job ends once.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from ..core.errors import WorkbenchError, describe_error
from ..core.job_state import JobState, JobWatcher


def start_job(title: str, work: Callable[[JobState], Any], watcher: JobWatcher | None = None,
              *, thread_name: str = "job") -> JobState:
    """``work(job)`` in a daemon thread, as the job returned."""
    job = JobState(title)
    if watcher is not None:
        job.watch(watcher)
    threading.Thread(target=_run, args=(job, work), daemon=True, name=thread_name).start()
    return job


def _run(job: JobState, work: Callable[[JobState], Any]) -> None:
    try:
        outcome = work(job)
    except BaseException as error:  # noqa: BLE001 - the job says what went wrong
        if not isinstance(error, WorkbenchError):
            traceback.print_exc()
        job.fail(describe_error(error))
    else:
        job.finish(outcome)
