"""SHA-256 of model files, computed once per file version (path, size, mtime)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_cache: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()
CHUNK = 4 * 1024 * 1024


def file_sha256(path: str | Path) -> str:
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key in _cache:
            return _cache[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _lock:
        _cache[key] = value
    return value
