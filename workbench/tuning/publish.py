"""After training: the adapter as a GGUF LoRA in the library, next to its base model.

Runs in the app process with numpy and gguf only (no torch). A merged full GGUF is offered for
GGUF bases (the base file with the adapter folded into the adapted tensors, stored as F16);
for a Hugging Face folder base it is not written: that needs a full HF → GGUF conversion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.catalog import AdapterEntry, ModelEntry
from ..core.tuning_errors import ExportError
from ..store import Store
from .gguf_lora import export_lora_gguf
from .gguf_merge import write_merged_gguf
from .job_files import JobFolder


@dataclass(frozen=True)
class Published:
    adapter_path: str
    adapter_id: str
    merged_path: str | None = None


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned or "adapter"


def publish(store: Store, folder: JobFolder, *, job_id: str, base_path: str, name: str,
            adapters_dir: Path, merge: bool) -> Published:
    if not (folder.adapter / "adapter_model.safetensors").is_file():
        raise ExportError(f"The job {job_id} has no finished adapter to export yet.")
    target = _free_path(Path(adapters_dir) / f"{safe_name(name)}.gguf")
    export_lora_gguf(folder.adapter, target, name=name)
    merged = None
    if merge:
        if not Path(base_path).is_file():
            raise ExportError("A merged GGUF can only be written for a GGUF base model; the "
                              "adapter was exported on its own.")
        merged = write_merged_gguf(Path(base_path), target.with_name(target.stem + "-merged.gguf"),
                                   lora_path=target)
    entry = store.catalog.add_adapter(AdapterEntry(
        path=str(target), base_model_id=_base_model_id(store, base_path), tune_job_id=job_id,
        name=name))
    return Published(str(target), entry.id, str(merged) if merged else None)


def _free_path(path: Path) -> Path:
    """``name.gguf``, or ``name-2.gguf`` … so an earlier adapter is never overwritten."""
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


def _base_model_id(store: Store, base_path: str) -> str:
    """The library entry of the base model, added if the library did not list it yet."""
    resolved = str(Path(base_path).resolve())
    for entry in store.catalog.models():
        if str(Path(entry.path).resolve()) == resolved:
            return entry.id
    return store.catalog.upsert_model(ModelEntry(path=resolved, name=Path(resolved).stem,
                                                 source="local")).id
