"""The app's side of one trainer process: start it, read its events, stop it when its job is
cancelled, or kill it.

The trainer runs in its own session (a Ctrl-C in the terminal is the app's to handle) with
OpenMP threads that sleep instead of spinning when idle: on a small machine torch's spinning
threads otherwise starve llama.cpp in the model host (measured: 16-token generations took
30 s instead of 0.4 s while a torch process idled beside them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ..core.job_state import JobState
from .job_files import JobFolder
from .progress import TrainerEvent, decode

TRAINER_MODULE = "workbench.tuning.trainer"
RAY_DRIVER_MODULE = "workbench.tuning.on_ray"  # same protocol: a tune job on a Ray cluster


class TrainerProcess:
    """One trainer process, stopped through a job: ``job.cancel()`` asks it for a clean stop
    (SIGTERM: it finishes its step, checkpoints and says "cancelled") and kills it if it has
    not stopped within ``cancel_grace_s``. The job is the one cancel flag: a TuneRun passes
    itself; a script that only reads the events may leave it out."""

    def __init__(self, folder: JobFolder, job: JobState | None = None, *,
                 cancel_grace_s: float = 60.0, env: dict[str, str] | None = None,
                 module: str = TRAINER_MODULE):
        self.folder = folder
        self.module = module
        self.cancel_grace_s = cancel_grace_s
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.job = job or JobState(f"trainer of {folder.root.name}")
        self._stop_sent = False
        self._lock = threading.Lock()
        self.job.on_cancel(self._ask_to_stop)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> TrainerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE",
               "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", **self.env}
        with open(self.folder.log, "ab") as log, self._lock:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, str(self.folder.root)],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        if self.job.cancelled:  # the cancel came while it was starting: its hook found no one
            self._ask_to_stop()
        return self

    def events(self) -> Iterator[TrainerEvent]:
        """Events until the process closes its stdout (it ended)."""
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            event = decode(raw.decode("utf-8", "replace"))
            if event is not None:
                yield event

    def wait(self, timeout: float | None = None) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def _ask_to_stop(self) -> None:
        """The job's cancel hook (once): SIGTERM now, a kill after the grace period."""
        with self._lock:
            proc = self.proc
            if proc is None or self._stop_sent or proc.poll() is not None:
                return  # not started yet: ``start`` asks once it has
            self._stop_sent = True
        try:
            proc.send_signal(signal.SIGTERM)
        except OSError:
            return

        def watchdog() -> None:
            try:
                proc.wait(self.cancel_grace_s)
            except subprocess.TimeoutExpired:
                self.kill()

        threading.Thread(target=watchdog, daemon=True, name="trainer-cancel").start()


def trainer_alive(pid: int | None, folder: Path) -> bool:
    """Whether ``pid`` is still the trainer of this job folder (pids get reused)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return False
    return (any(m.encode() in args for m in (TRAINER_MODULE, RAY_DRIVER_MODULE))
            and str(folder).encode() in args)


def stop_orphan(pid: int | None, folder: Path, timeout_s: float = 30.0) -> None:
    """End a trainer left over from an app that died (it is checkpointing and leaving)."""
    if not trainer_alive(pid, folder):
        return
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and trainer_alive(pid, folder):
        time.sleep(0.2)
    if trainer_alive(pid, folder):
        os.kill(pid, signal.SIGKILL)
