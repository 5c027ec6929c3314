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
_LOG_DEBUG, _LOG_CONT = 1, 5
_last_level = 0


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
    """llama.cpp's log on stderr without its debug lines (the parent keeps the tail to say
    why a step failed)."""
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _log(level: int, text: bytes, user_data) -> None:
        global _last_level
        if level != _LOG_CONT:
            _last_level = level
        if _last_level != _LOG_DEBUG:
            sys.stderr.write(text.decode("utf-8", "replace"))
            sys.stderr.flush()

    quiet_llama_log.callback = _log  # keep it alive while llama.cpp holds the pointer
    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
