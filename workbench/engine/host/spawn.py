"""Starting model host processes, and one started ahead of need.

Only the standard library and the wire format here: the CLI imports this module first thing,
so that the host's start-up (the interpreter, llama.cpp's import) overlaps with its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from . import wire


def start_process(log: Path) -> subprocess.Popen:
    env = dict(os.environ, WORKBENCH_HOST_LOG=str(log), PYTHONUNBUFFERED="1")
    with open(log, "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "workbench.engine.host"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
        )


# A host process started ahead of need (see prespawn), with the log file it writes to.
_spare: tuple[subprocess.Popen, Path, Path] | None = None
_spare_lock = threading.Lock()


def prespawn(logs_dir: Path) -> None:
    """Start a model host process now, before the caller knows which model it will load.

    The interpreter start and the import of llama.cpp (~0.15 s) then overlap with the
    caller's own start-up; the first ModelHost started with the same logs folder takes it
    over. Its log is renamed to the model's when adopted.
    """
    global _spare
    with _spare_lock:
        if _spare is not None:
            return
        logs_dir.mkdir(parents=True, exist_ok=True)
        log = logs_dir / f"host-starting-{os.getpid()}.log"
        _spare = (start_process(log), log, logs_dir)


def take_spare(logs_dir: Path, log: Path) -> subprocess.Popen | None:
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is None:
        return None
    proc, spare_log, spare_dir = spare
    if spare_dir != logs_dir or proc.poll() is not None:
        proc.kill()
        return None
    try:
        spare_log.replace(log)  # the open file follows the rename: one log per model
    except OSError:
        pass
    proc.stdin.write(wire.encode({"id": 0, "op": "log", "path": str(log)}))
    proc.stdin.flush()
    return proc
