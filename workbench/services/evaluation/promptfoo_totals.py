"""promptfoo's sums over a results file's rows — a column's ``metrics`` (CompletedPrompt) and
the eval's ``stats`` — added up row by row as the rows are written, so the file never needs
its rows all at once. Each sum is taken in the rows' order, as a sum over the list was."""

from __future__ import annotations

from typing import Any

PASSED, ASSERT, ERROR = 0, 1, 2  # promptfoo's ResultFailureReason
USAGE_KEYS = ("total", "prompt", "completion", "numRequests")


def no_usage() -> dict[str, int]:
    """promptfoo's tokenUsage of nothing."""
    return {"total": 0, "prompt": 0, "completion": 0, "cached": 0, "numRequests": 0}


class Totals:
    """The figures of the rows added so far."""

    def __init__(self):
        self.score: float = 0
        self.outcomes = {PASSED: 0, ASSERT: 0, ERROR: 0}
        self.checks_passed = self.checks_failed = 0
        self.latency_ms = 0
        self.usage = no_usage()
        self.named: dict[str, float] = {}
        self.named_counts: dict[str, int] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.score += row["score"]
        self.outcomes[row["failureReason"]] = self.outcomes.get(row["failureReason"], 0) + 1
        for component in (row["gradingResult"] or {}).get("componentResults", []):
            if component["pass"]:
                self.checks_passed += 1
            else:
                self.checks_failed += 1
        self.latency_ms += row["latencyMs"]
        for key in USAGE_KEYS:
            self.usage[key] += row["tokenUsage"][key]
        for name, score in row["namedScores"].items():
            self.named[name] = self.named.get(name, 0.0) + score
            self.named_counts[name] = self.named_counts.get(name, 0) + 1

    def metrics(self) -> dict[str, Any]:
        """A column's: promptfoo's PromptMetrics."""
        return {
            "score": self.score, "testPassCount": self.outcomes[PASSED],
            "testFailCount": self.outcomes[ASSERT], "testErrorCount": self.outcomes[ERROR],
            "assertPassCount": self.checks_passed, "assertFailCount": self.checks_failed,
            "totalLatencyMs": self.latency_ms, "tokenUsage": self.usage,
            "namedScores": self.named, "namedScoresCount": self.named_counts, "cost": 0}

    def stats(self) -> dict[str, Any]:
        """The whole eval's: promptfoo's EvaluateStats (without its duration)."""
        return {"successes": self.outcomes[PASSED], "failures": self.outcomes[ASSERT],
                "errors": self.outcomes[ERROR], "tokenUsage": self.usage}
