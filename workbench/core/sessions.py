"""A session: one workspace of prompts, cases, runs and ratings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now


@dataclass(frozen=True)
class Session:
    name: str
    id: str = field(default_factory=new_id)
    notes: str = ""
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class SessionSummary:
    session: Session
    prompt_versions: int
    runs: int
    outputs: int


@dataclass(frozen=True)
class Draft:
    """Unsaved editor content, autosaved so that it survives a crash.

    ``key`` names the editor (for example ``"composer"``); ``content`` is whatever that editor
    needs to restore itself, as JSON-compatible data.
    """

    session_id: str
    key: str
    content: dict[str, Any]
    updated_at: datetime = field(default_factory=utc_now)
