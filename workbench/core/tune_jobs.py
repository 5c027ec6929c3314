"""Tune jobs as stored: config, status, metric series and artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now

JOB_STATES = ("queued", "running", "done", "cancelled", "failed")


@dataclass(frozen=True)
class MetricPoint:
    step: int
    name: str  # "loss", "eval_loss", "tokens_per_second", …
    value: float


@dataclass(frozen=True)
class TuneJob:
    session_id: str | None
    config: dict[str, Any]
    status: str = "queued"
    metrics: tuple[MetricPoint, ...] = ()
    artifacts: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
