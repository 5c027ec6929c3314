"""The quantization lab's steps as its progress file keeps them, and which of them a resume can
take as they are: a quantized file whose size and SHA-256 are still the recorded ones (or a
type that failed), the reference pass while its ``reference.npz`` is whole, each measured arm,
each pass rate (an evaluation run left half-way is finished in place, quantlab_measure)."""

from __future__ import annotations

from pathlib import Path

from ...library.hashing import file_sha256
from .progress_file import ProgressFile


def mark_file(progress: ProgressFile, quant: str, entry: dict) -> dict:
    """A made (or reused) file with its size and hash, or a type that cannot be made."""
    if not entry.get("error"):
        path = Path(entry["path"])
        entry = {**entry, "size": path.stat().st_size, "sha256": file_sha256(path)}
    progress.mark("file", quant, **entry)
    return entry


def kept_file(progress: ProgressFile, quant: str) -> dict | None:
    """The recorded entry if the file is still the one recorded (or the type failed)."""
    entry = progress.get("file", quant)
    if entry is None or entry.get("error"):
        return entry
    path = Path(entry.get("path", ""))
    try:
        same = (path.is_file() and path.stat().st_size == entry.get("size")
                and file_sha256(path) == entry.get("sha256"))
    except OSError:
        same = False
    return entry if same else None


def mark_reference(progress: ProgressFile, reference: dict, own: dict) -> None:
    npz = Path(reference["npz"])
    progress.mark("reference", reference=reference, own=own, npz_size=npz.stat().st_size)


def kept_reference(progress: ProgressFile) -> tuple[dict, dict] | None:
    """(results' reference, the reference arm's own measurement) if the pass is done."""
    record = progress.get("reference")
    if record is None:
        return None
    npz = Path(record["reference"]["npz"])
    if not npz.is_file() or npz.stat().st_size != record.get("npz_size"):
        return None
    return record["reference"], record["own"]


def arm_key(arm: dict) -> str:
    """One arm: a file under one engine setting (labels can repeat; paths cannot)."""
    return f"{arm['path']}|{arm['engine']}"


def mark_arm(progress: ProgressFile, arm: dict) -> None:
    """A measured (or failed) arm; a cancelled one was not measured."""
    if arm.get("status") in ("done", "failed"):
        progress.mark("arm", arm_key(arm), **arm)
