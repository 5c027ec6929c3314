"""Test cases: rows of variable values a prompt is run over."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .ids import new_id, utc_now


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    case_set_id: str
    variables: dict[str, str]
    expected: str | None = None
    position: int = 0
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class CaseSet:
    session_id: str
    name: str
    cases: tuple[TestCase, ...] = ()
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
