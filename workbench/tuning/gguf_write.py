"""Write a GGUF file all or nothing: under a temporary name, renamed when complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..core.tuning_errors import ExportError


def write_gguf_atomically(out_path: Path, arch: str, fill: Callable[[object], None]) -> Path:
    """``fill(writer)`` writes everything; a failure leaves no partial file behind."""
    import gguf

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        fill(writer)
    except BaseException as error:
        writer.close()
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):  # a full disk, a read-only folder
            raise ExportError(f"Cannot write {out_path}: {error}.") from None
        raise
    writer.close()
    os.replace(tmp, out_path)
    return out_path
