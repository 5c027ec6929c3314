"""``cost``: promptfoo fails a test whose answer cost more than the threshold (in dollars, as
the provider reports it). Local models cost nothing, and no backend here reports a cost, so
the check is a no-op: it passes in both its forms and says why (promptfoo itself refuses a
cost assertion on a provider that reports none). Its threshold is still required, as
promptfoo requires it, so a suite moved back there keeps working."""

from __future__ import annotations

from ...core.evaluation import Assertion

NOTE = "no cost is measured (local models cost nothing): not checked, passes"


def cost_problem(assertion: Assertion) -> str | None:
    if assertion.threshold is None:
        return "cost needs a threshold: the most an answer may cost (promptfoo's rule)"
    return None


def cost_finding(_assertion: Assertion) -> tuple[bool, float, str, bool, bool]:
    """(passed, score, found, usable, no-op)."""
    return True, 1.0, NOTE, True, True
