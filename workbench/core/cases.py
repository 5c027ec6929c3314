"""Test cases: rows of variable values a prompt is run over."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .evaluation import Assertion
from .ids import new_id, utc_now


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    case_set_id: str
    variables: dict[str, str]
    expected: str | None = None
    position: int = 0
    id: str = field(default_factory=new_id)
    # What an output for this case must satisfy (evaluation lab); none: only eyes and stars.
    assertions: tuple[Assertion, ...] = ()
    threshold: float | None = None  # pass when the weighted score reaches it (None: all pass)
    description: str = ""
    # promptfoo's test options as the case runs (defaultTest's merged in): ``transform`` (the
    # output before the checks) and ``transformVars`` (the variables before rendering)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseSet:
    session_id: str
    name: str
    cases: tuple[TestCase, ...] = ()
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    # Assertions every case gets before its own (promptfoo's defaultTest), and their judge.
    default_assertions: tuple[Assertion, ...] = ()
    default_threshold: float | None = None
    judge: str | None = None
    default_options: dict[str, str] = field(default_factory=dict)  # defaultTest.options (export)

    def assertions_for(self, case: TestCase) -> tuple[Assertion, ...]:
        return self.default_assertions + case.assertions

    def threshold_for(self, case: TestCase) -> float | None:
        return case.threshold if case.threshold is not None else self.default_threshold
