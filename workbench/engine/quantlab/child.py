"""Running one of the lab's child processes from the app: its JSON lines become progress
callbacks, its log goes to a file, a cancel kills it, and a crash is an error with the log's
last lines (the process ended, the app did not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ...core.errors import WorkbenchError
from ..process import describe_exit, read_log_tail
from .child_io import PARENT_ENV


class ChildFailed(WorkbenchError):
    """The step failed: llama.cpp's reason, or how the process ended and its log's tail."""


class ChildCancelled(WorkbenchError):
    pass


class LabChild:
    """One child process; ``run`` blocks until it ends, ``kill`` (any thread) ends it."""

    def __init__(self, module: str, args: list[str], log_path: Path):
        self.command = [sys.executable, "-m", f"workbench.engine.quantlab.{module}", *args]
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None
        self.killed = threading.Event()
        self._lock = threading.Lock()

    def kill(self) -> None:
        with self._lock:
            self.killed.set()
            if self.process is not None and self.process.poll() is None:
                self.process.kill()

    def run(self, on_progress: Callable[[dict], None] | None = None) -> dict:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_ENV: str(os.getpid())}
        with open(self.log_path, "ab") as log, self._lock:
            if self.killed.is_set():
                raise ChildCancelled("cancelled")
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=log,
                                            stdin=subprocess.DEVNULL, env=env)
        result: dict | None = None
        error: str | None = None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            event = message.pop("event", "")
            if event == "progress" and on_progress is not None:
                on_progress(message)
            elif event == "result":
                result = message
            elif event == "error":
                error = message.get("message", "failed")
        code = self.process.wait()
        if self.killed.is_set():
            raise ChildCancelled("cancelled")
        if error:
            raise ChildFailed(error)
        if code != 0 or result is None:
            tail = read_log_tail(self.log_path, 6)
            raise ChildFailed(f"the process ended ({describe_exit(code)})"
                              + (f"; its log ends:\n{tail}" if tail else ""))
        return result
