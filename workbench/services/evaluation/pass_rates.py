"""How many outputs of each variant passed: the one count every view reads — the grid's pass
line, the Evaluation tab's table, plot and trend, ``workbench eval``'s report and exit code,
the JSON, JUnit and promptfoo exports.

A pass rate is a rate over *samples* of a variant: one verdict per cell (variant, case,
repeat), the latest when the cell was generated again or re-checked. A branch (an output the
user forced from a token in the token view: ``Output.branch_of``) is an exploration, not a
sample of the variant, so it never enters a rate, an interval, a comparison or a trend; it is
counted apart (``branches``, ``branches_passed``) so a view can show it beside its parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from ...core.evaluation import EvalResult
from .statistics import Interval, wilson

Unit = tuple[str, int]  # (case_id, repeat): one sample of a variant
RUBRIC_TYPE = "llm-rubric"  # the model-graded check whose score the judge agreement reads


@dataclass(frozen=True)
class PassCount:
    """One variant's counted verdicts: passes, samples, generation errors, mean score; and its
    branches, which are not among them."""

    variant_id: str
    passed: int = 0
    total: int = 0
    errors: int = 0  # samples that failed to generate (counted as fails)
    mean_score: float | None = None
    branches: int = 0
    branches_passed: int = 0

    @property
    def rate(self) -> float | None:
        """None when nothing of the variant was evaluated."""
        return self.passed / self.total if self.total else None

    def interval(self, alpha: float = 0.05) -> Interval:
        return wilson(self.passed, self.total, alpha)

    def line(self, label: str) -> str:
        """"Creative 4/6 pass" — with "(+1 branch: 1 passes, not counted)" when it has any."""
        text = f"{label} {self.passed}/{self.total} pass"
        return f"{text} ({self.branch_note()})" if self.branches else text

    def branch_note(self) -> str:
        """"+1 branch: 1 passes, not counted" ("" without branches)."""
        if not self.branches:
            return ""
        noun = "branch" if self.branches == 1 else "branches"
        verb = "passes" if self.branches_passed == 1 else "pass"
        return f"+{self.branches} {noun}: {self.branches_passed} {verb}, not counted"


@dataclass(frozen=True, slots=True)
class Sample:
    """What the report reads of one verdict: its cell and figures, each check as (label,
    passed), and the rubric judge's scores. A run's report keeps one per verdict, never the
    verdicts themselves with their reasons and assertions (kilobytes each)."""

    output_id: str
    variant_id: str
    case_id: str
    repeat: int
    branch_of: str | None
    passed: bool
    score: float
    error: str | None
    checks: tuple[tuple[str, bool], ...]
    rubric: tuple[float, ...]

    @classmethod
    def of(cls, result: EvalResult | Sample, shared: dict | None = None) -> Sample:
        """``shared``: one dict for a whole report, so the few distinct ids and check tuples
        are kept once rather than once per verdict."""
        if isinstance(result, Sample):
            return result
        keep = (lambda value: value) if shared is None else (
            lambda value: shared.setdefault(value, value))
        checks = keep(tuple(keep((found.assertion.label, found.passed))
                            for found in result.verdict.results))
        rubric = tuple(found.score for found in result.verdict.results
                       if found.assertion.type == RUBRIC_TYPE)
        return cls(result.output_id, keep(result.variant_id), keep(result.case_id),
                   result.repeat, result.branch_of, result.passed, result.score,
                   result.verdict.error, checks, rubric)


def by_unit(results: Iterable[EvalResult]) -> dict[str, dict[Unit, EvalResult]]:
    """Variant id -> (case, repeat) -> the verdict that counts for that cell: the last one
    given (a re-run cell or a re-check replaces the earlier verdict), branches left out."""
    units: dict[str, dict[Unit, EvalResult]] = {}
    for result in results:
        if result.branch_of is None:
            units.setdefault(result.variant_id, {})[(result.case_id, result.repeat)] = result
    return units


def counted(results: Iterable[EvalResult]) -> list[EvalResult]:
    """The verdicts a pass rate counts, variant by variant in the order they first appear."""
    return [result for per_unit in by_unit(results).values() for result in per_unit.values()]


def pass_counts(variant_ids: Sequence[str], results: Iterable[EvalResult]
                ) -> dict[str, PassCount]:
    """Each listed variant's ``PassCount`` (in the order listed; a variant with no verdict
    gets an empty one). Verdicts of other variants are ignored."""
    results = list(results)
    units = by_unit(results)
    counts = {}
    for variant_id in variant_ids:
        samples = list(units.get(variant_id, {}).values())
        branches = [r for r in results if r.variant_id == variant_id and r.branch_of is not None]
        counts[variant_id] = PassCount(
            variant_id, passed=sum(r.passed for r in samples), total=len(samples),
            errors=sum(1 for r in samples if r.error),
            mean_score=fmean(r.score for r in samples) if samples else None,
            branches=len(branches), branches_passed=sum(r.passed for r in branches))
    return counts
