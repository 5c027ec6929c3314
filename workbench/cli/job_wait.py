"""A command waits on the job its service started and returned (the one way to start work).

Ctrl-C asks the job to cancel and waits for it to stop — it keeps what it has done and ends
``cancelled`` — and the command exits ``INTERRUPTED``; a second Ctrl-C leaves at once
(cli/main.py says "interrupted"). A failed job is the command's error, in the job's words.
"""

from __future__ import annotations

import sys

from ..core.errors import WorkbenchError
from ..core.job_state import FAILED, JobState

INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C, as cli/main.py returns


def wait_for(job: JobState, cancelling: str = "") -> JobState:
    """``job`` once it has ended; ``cancelling`` is said on stderr when Ctrl-C cancels it.
    Raises the job's error when it failed."""
    try:
        job.wait()
    except KeyboardInterrupt:
        if cancelling:
            print(f"\n{cancelling}", file=sys.stderr, flush=True)
        job.cancel()
        job.wait()
    if job.status == FAILED:
        raise WorkbenchError(job.error or f"{job.title} failed.")
    return job
