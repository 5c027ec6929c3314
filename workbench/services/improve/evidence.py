"""The honest end of a search: the winner against the start on the held-out cases, which the
search never saw. Pass rates with Wilson 95% intervals, an exact McNemar test on the paired
units (case × repeat), and one rule: the winner is offered only when it passes more of them
than the start with p < ``alpha``; otherwise there is no significant improvement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..evaluation.statistics import Interval, PairedTest, describe_comparison, mcnemar_exact, wilson

ALPHA = 0.05
NO_IMPROVEMENT = "no significant improvement"


@dataclass(frozen=True)
class Evidence:
    """Start (A) against winner (B) on the same held-out units."""

    start_passed: int
    winner_passed: int
    units: int
    start_interval: Interval
    winner_interval: Interval
    test: PairedTest
    significant: bool
    alpha: float = ALPHA

    @property
    def start_rate(self) -> float | None:
        return self.start_passed / self.units if self.units else None

    @property
    def winner_rate(self) -> float | None:
        return self.winner_passed / self.units if self.units else None

    @property
    def verdict(self) -> str:
        """"significant improvement" or "no significant improvement"."""
        return "significant improvement" if self.significant else NO_IMPROVEMENT

    def sentence(self, unit: str = "held-out units") -> str:
        return describe_comparison("the start", "the winner", self.test, self.alpha, unit)

    def to_dict(self) -> dict[str, Any]:
        return {"start_passed": self.start_passed, "winner_passed": self.winner_passed,
                "units": self.units, "start_rate": self.start_rate,
                "winner_rate": self.winner_rate, "start_interval": self.start_interval.to_dict(),
                "winner_interval": self.winner_interval.to_dict(), "test": self.test.to_dict(),
                "significant": self.significant, "alpha": self.alpha, "verdict": self.verdict,
                "sentence": self.sentence()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        test = data["test"]
        return cls(int(data["start_passed"]), int(data["winner_passed"]), int(data["units"]),
                   Interval(**data["start_interval"]), Interval(**data["winner_interval"]),
                   PairedTest(test["method"], int(test["n"]), float(test["p_value"]),
                              int(test.get("b_only", 0)), int(test.get("a_only", 0)),
                              note=str(test.get("note", ""))),
                   bool(data["significant"]), float(data.get("alpha", ALPHA)))


def weigh(start: Sequence[bool], winner: Sequence[bool], alpha: float = ALPHA) -> Evidence:
    """``start[i]`` and ``winner[i]``: did each pass held-out unit i (the same case and repeat
    on both sides). Significant only when the winner is ahead *and* p < alpha."""
    if len(start) != len(winner):
        raise ValueError(f"Paired results need one value per unit on each side: {len(start)} "
                         f"against {len(winner)}.")
    test = mcnemar_exact(list(start), list(winner))
    ahead = test.b_only > test.a_only
    return Evidence(sum(map(bool, start)), sum(map(bool, winner)), len(start),
                    wilson(sum(map(bool, start)), len(start), alpha),
                    wilson(sum(map(bool, winner)), len(winner), alpha), test,
                    significant=ahead and test.p_value < alpha, alpha=alpha)
