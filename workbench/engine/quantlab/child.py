"""Running one of the lab's child processes from the app, as a step of the lab's job: its JSON
lines become progress (``JobProgress``, the one shape), its log goes to a file, the job's cancel
kills it, and a crash is an error with the log's last lines (the process ended, the app did
not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ...core.errors import WorkbenchError
from ...core.job_state import JobProgress, JobState
from ..process import describe_exit, read_log_tail
from .child_io import PARENT_ENV


class ChildFailed(WorkbenchError):
    """The step failed: llama.cpp's reason, or how the process ended and its log's tail."""


class ChildCancelled(WorkbenchError):
    """The lab's job was cancelled: the step stopped (its child killed) and left nothing. The
    lab catches it and ends the job cancelled; the job's own flag is the only record."""


class LabChild:
    """One child process working for ``job``: ``run`` blocks until it ends; the job's cancel
    (from any thread) kills it, before or while it runs."""

    def __init__(self, module: str, args: list[str], log_path: Path, job: JobState):
        self.command = [sys.executable, "-m", f"workbench.engine.quantlab.{module}", *args]
        self.log_path = Path(log_path)
        self.job = job
        self.process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # a cancel never slips between the check and the start
        job.on_cancel(self._kill)

    def _kill(self) -> None:
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()

    def run(self, on_progress: Callable[[JobProgress], None] | None = None) -> dict:
        """The child's result; ChildFailed or ChildCancelled otherwise. ``on_progress`` gets
        each progress event the child sends: its message, and done of total where it counts
        (texts read, speed repeats)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_ENV: str(os.getpid())}
        with open(self.log_path, "ab") as log, self._lock:
            if self.job.cancelled:
                raise ChildCancelled("cancelled")
            # its own session: a Ctrl-C in the terminal is the app's to handle (it cancels the
            # job, which kills this child), not a second, racing end of the child
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=log,
                                            stdin=subprocess.DEVNULL, env=env,
                                            start_new_session=True)
        result, error = self._read(on_progress)
        code = self.process.wait()
        if self.job.cancelled:
            raise ChildCancelled("cancelled")
        if error:
            raise ChildFailed(error)
        if code != 0 or result is None:
            tail = read_log_tail(self.log_path, 6)
            raise ChildFailed(f"the process ended ({describe_exit(code)})"
                              + (f"; its log ends:\n{tail}" if tail else ""))
        return result

    def _read(self, on_progress) -> tuple[dict | None, str | None]:
        """The child's messages until it closes its stdout: (its result, its error)."""
        result: dict | None = None
        error: str | None = None
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            event = message.pop("event", "")
            if event == "progress" and on_progress is not None:
                on_progress(JobProgress(message.get("done", 0), message.get("total", 0),
                                        message.get("message", "")))
            elif event == "result":
                result = message
            elif event == "error":
                error = message.get("message", "failed")
        return result, error
