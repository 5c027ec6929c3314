"""What the lab's child processes share: stdout kept for JSON lines, llama.cpp's log on stderr.

llama.cpp prints to stdout in places; like the model host (engine/host), a child moves fd 1 to
stderr before llama.cpp loads and writes its own messages to a private copy of the old stdout.
Each message is one JSON object per line: ``{"event": "progress", ...}`` while it works and
``{"event": "result", ...}`` or ``{"event": "error", "message": ...}`` at the end.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any, TextIO

_channel: TextIO | None = None


def open_channel() -> TextIO:
    global _channel
    if _channel is None:
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
        _channel = os.fdopen(private, "w", encoding="utf-8", buffering=1)
    return _channel


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
