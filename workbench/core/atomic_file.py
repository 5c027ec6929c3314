"""Files written whole or not at all: a reader sees the old file or the new one, never half of
one (a results file a CI job reads, an experiment's progress record)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``
    (os.replace is atomic within one file system)."""
    with open_atomically(path) as file:
        file.write(text)


@contextmanager
def open_atomically(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file to write piece by piece that appears at ``path`` whole, when the block
    ends without an error (a temporary file beside it, renamed over it); after an error
    ``path`` is as it was. A file of any size is written without holding it in memory."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline=newline) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
