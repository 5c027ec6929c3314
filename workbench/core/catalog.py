"""Model and adapter entries of the library, as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now


@dataclass(frozen=True)
class ModelEntry:
    path: str
    sha256: str | None = None
    size: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    source: str = "local"  # "local" | "hub" | "watched folder" | "bundled"
    id: str = field(default_factory=new_id)
    added_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class AdapterEntry:
    path: str
    base_model_id: str | None = None
    tune_job_id: str | None = None
    name: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
