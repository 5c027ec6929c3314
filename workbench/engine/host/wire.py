"""The model host's wire format: one JSON object per line over the child's stdin/stdout.

Parent → child: ``{"id": N, "op": "...", ...}``.
Child → parent: ``{"id": N, "type": "result" | "error" | "token" | "done", ...}``.
JSON lines keep the protocol debuggable by hand (``python -m workbench.engine.host``).
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

OPS = ("log", "load", "tokenize", "detokenize", "render", "generate", "cancel", "ping", "shutdown")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def send(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(encode(message))
    stream.flush()
