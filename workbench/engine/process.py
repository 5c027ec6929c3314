"""Helpers for child processes whose logs and exit codes we report: the model host and tuning jobs.

Standard library only, so that tuning can use them without importing the llama.cpp client.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

LOG_TAIL_LINES = 12


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a child process's log (read from its end: logs can be large)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def describe_exit(code: int | None) -> str:
    """How a child process ended, in words: the signal's name, or its exit code."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " — killed, possibly for lack of memory" if -code == signal.SIGKILL else ""
        return f"{name}{hint}"
    return f"exit code {code}"
