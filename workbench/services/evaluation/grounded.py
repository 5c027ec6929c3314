"""The ``grounded`` assertion: every quote in the output is in the chunks its prompt contained.

Passes when no quote is fabricated and none misattributed (core/grounding.py says how quotes
and citations are read); the score is the share of quotes supported (1.0 with no quotes). An
output whose prompt had no retrieved chunks cannot be checked, so the assertion fails in both
its forms, as every check that cannot run does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...core.grounding import check_grounding
from ...core.retrieval import Retrieved

ChunksOf = Callable[[], Sequence[Retrieved] | None]


def grounded_finding(text: str, chunks_of: ChunksOf | None) -> tuple[bool, float, str, bool]:
    """(passed, score, what was found, usable) for checks.Finding."""
    chunks = chunks_of() if chunks_of is not None else None
    if not chunks:
        return (False, 0.0, "no retrieved chunks were recorded for this output's prompt "
                            "(a variant with retrieval fills them)", False)
    report = check_grounding(text, chunks)
    found = report.summary()
    if report.unknown_citations:
        found += " · cites " + ", ".join(c.label for c in report.unknown_citations) + \
            " (no such chunk)"
    bad = [c.describe() for c in report.checks if c.status != "supported"]
    if bad:
        found += " — " + "; ".join(bad)
    return report.passed, report.share_supported, found, True
