"""Documents and their chunks, for retrieval (RAG)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .ids import new_id, utc_now


@dataclass(frozen=True)
class Chunk:
    document_id: str
    position: int
    text: str
    embedding: bytes | None = None  # float32 vector, little-endian
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class Document:
    session_id: str | None
    title: str
    source: str = ""
    text: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
