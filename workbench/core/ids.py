"""Identifiers and timestamps shared by every stored entity.

Every entity carries a random UUID string from birth, so a session exported from one machine and
imported on another merges by identity, never by accident of row numbers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)
