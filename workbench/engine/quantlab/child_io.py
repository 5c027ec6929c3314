"""What the lab's child processes share: stdout kept for JSON lines, llama.cpp's log on stderr.

llama.cpp prints to stdout in places; like the model host (engine/host), a child moves fd 1 to
stderr before llama.cpp loads and writes its own messages to a private copy of the old stdout.
Each message is one JSON object per line: ``{"event": "progress", ...}`` while it works and
``{"event": "result", ...}`` or ``{"event": "error", "message": ...}`` at the end.

A child ends with its parent (kill -9 included): the lab resumed by another process must never
race an orphan that still writes the same file.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

_channel: TextIO | None = None
PARENT_ENV = "WORKBENCH_LAB_PARENT"  # the parent's pid, set by child.py
PR_SET_PDEATHSIG = 1


def open_channel() -> TextIO:
    global _channel
    if _channel is None:
        end_with_parent()
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
        _channel = os.fdopen(private, "w", encoding="utf-8", buffering=1)
    return _channel


def end_with_parent() -> None:
    """Be killed when the parent dies: Linux's parent-death signal, else a thread that
    watches the parent's pid; a parent already gone ends this child at once."""
    parent = int(os.environ.get(PARENT_ENV) or 0)
    if not parent:
        return  # run by hand
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def send(event: str, **fields: Any) -> None:
    channel = open_channel()
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


def quiet_llama_log() -> None:
    """llama.cpp's log on stderr without its debug lines, as the model host writes it (the
    parent keeps the tail to say why a step failed)."""
    import llama_cpp

    from ..host.runtime import log_to_stderr

    llama_cpp.llama_log_set(log_to_stderr, ctypes.c_void_p(0))
