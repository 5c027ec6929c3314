"""What a stored evaluation says: pass rates with intervals per variant and per assertion, paired
comparisons between variants, a ranking from pairwise judgements and the judge's agreement with
the user's ratings.

Built from plain domain objects, so the grid, the results view, ``workbench eval --json`` and
the tests read one report; nothing here knows the store or Qt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import fmean
from typing import Any

from ...core.evaluation import EvalResult
from ...core.ratings import Preference, Rating
from ...core.retrieval_scores import RetrievalScore
from .pass_rates import PassCount, Sample, Unit, by_unit, pass_counts
from .statistics import (
    Agreement,
    Interval,
    PairedTest,
    Ranking,
    bradley_terry,
    describe_comparison,
    kendall_tau,
    mcnemar_exact,
    paired_scores,
    wilson,
)

JUDGE_RATER_PREFIX = "judge:"  # preferences and ratings a model gave, not the user
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class VariantSummary:
    """A variant's pass rate over its samples, one per cell (a failed generation counts as a
    fail); its branches are counted apart (pass_rates.py), in no rate or interval."""

    variant_id: str
    label: str
    passed: int
    total: int
    rate: float | None  # None when nothing was evaluated
    interval: Interval
    mean_score: float | None
    # outputs that failed to generate (a dead server, a cut-off stream): JUnit's errors, not
    # its failures (cases that ran and did not pass); once called "failures"
    errors: int
    branches: int = 0  # outputs branched from a token: shown beside, never counted
    branches_passed: int = 0

    @classmethod
    def of(cls, label: str, count: PassCount, alpha: float = 0.05) -> VariantSummary:
        return cls(count.variant_id, label, count.passed, count.total, count.rate,
                   count.interval(alpha), count.mean_score, count.errors, count.branches,
                   count.branches_passed)

    @property
    def count(self) -> PassCount:
        return PassCount(self.variant_id, self.passed, self.total, self.errors,
                         self.mean_score, self.branches, self.branches_passed)

    def to_dict(self) -> dict[str, Any]:
        """``failures`` repeats ``errors`` under its old name, for readers of older reports."""
        return {"variant_id": self.variant_id, "label": self.label, "passed": self.passed,
                "total": self.total, "rate": self.rate, "interval": self.interval.to_dict(),
                "mean_score": self.mean_score, "errors": self.errors,
                "failures": self.errors, "branches": self.branches,
                "branches_passed": self.branches_passed}


@dataclass(frozen=True)
class AssertionSummary:
    """How often one assertion (by its label) passed for one variant. Outputs that failed to
    generate were never checked, so they are not in ``total``."""

    label: str
    variant_id: str
    passed: int
    total: int
    interval: Interval

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "variant_id": self.variant_id, "passed": self.passed,
                "total": self.total, "interval": self.interval.to_dict()}


@dataclass(frozen=True)
class Comparison:
    """Variant B against variant A on the units both have: pass/fail (exact McNemar) and
    scores (Wilcoxon with a bootstrap interval), each with its sentence."""

    variant_a: str
    variant_b: str
    passes: PairedTest
    scores: PairedTest
    sentence: str
    score_sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {"variant_a": self.variant_a, "variant_b": self.variant_b,
                "passes": self.passes.to_dict(), "scores": self.scores.to_dict(),
                "sentence": self.sentence, "score_sentence": self.score_sentence}


@dataclass(frozen=True)
class EvalReport:
    """Everything a stored evaluation says, in variant order."""

    variants: tuple[VariantSummary, ...]
    assertions: tuple[AssertionSummary, ...]
    comparisons: tuple[Comparison, ...]
    ranking: Ranking | None  # None: no pairwise judgements between variants
    judge_agreement: Agreement | None  # None: too few outputs with a rating and a rubric score
    preferences_used: int = 0
    preferences_ignored: int = 0  # outputs of no listed variant, or both of one variant
    # recall@k and MRR per variant, when cases name gold sources (core/retrieval_scores.py)
    retrieval: tuple[RetrievalScore, ...] = ()

    def label(self, variant_id: str) -> str:
        return next((v.label for v in self.variants if v.variant_id == variant_id), variant_id)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per variant id: label, passed, total, rate — what ``EvalRun.summary`` keeps for the
        history trend of a suite's runs."""
        return {v.variant_id: {"label": v.label, "passed": v.passed, "total": v.total,
                               "rate": v.rate} for v in self.variants}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (what ``workbench eval --json`` writes)."""
        ranking = None
        if self.ranking is not None:
            ranking = self.ranking.to_dict()
            for entry in ranking["items"]:
                entry["label"] = self.label(entry["item"])
        return {"variants": [v.to_dict() for v in self.variants],
                "assertions": [a.to_dict() for a in self.assertions],
                "comparisons": [c.to_dict() for c in self.comparisons],
                "ranking": ranking,
                "judge_agreement": (self.judge_agreement.to_dict()
                                    if self.judge_agreement else None),
                "preferences_used": self.preferences_used,
                "preferences_ignored": self.preferences_ignored,
                "retrieval": [r.to_dict() for r in self.retrieval]}

    def lines(self) -> list[str]:
        """A compact text table for the terminal, then the comparison sentences, the ranking and
        the judge's agreement."""
        width = max([len("variant"), *(len(v.label) for v in self.variants)])
        out = [f"{'variant':<{width}}  {'passed':>9}  {'rate':>5}  {'95% interval':<12}  "
               f"{'score':>5}  errors"]
        for v in self.variants:
            rate = "-" if v.rate is None else f"{v.rate:.0%}"
            interval = f"[{v.interval.low:.0%}, {v.interval.high:.0%}]"
            score = "-" if v.mean_score is None else f"{v.mean_score:.2f}"
            out.append(f"{v.label:<{width}}  {f'{v.passed}/{v.total}':>9}  {rate:>5}  "
                       f"{interval:<12}  {score:>5}  {v.errors}")
        out.extend(f"{v.label}: {v.count.branch_note()}" for v in self.variants if v.branches)
        out.extend(f"{c.sentence}. {c.score_sentence}." for c in self.comparisons)
        if self.ranking is not None:
            ranked = ", ".join(
                f"{self.label(e.item)} {e.strength:+.2f}"
                + (f" [{e.interval.low:+.2f}, {e.interval.high:+.2f}]" if e.interval else "")
                for e in self.ranking.items)
            count = self.preferences_used
            noun = "judgement" if count == 1 else "judgements"
            out.append(f"Ranking from {count} pairwise {noun}: {ranked}")
        out.extend(f"Retrieval, {score.line()}" for score in self.retrieval)
        if self.judge_agreement is not None:
            agreement = self.judge_agreement
            p_value = "" if agreement.p_value is None else f", p = {agreement.p_value:.2g}"
            out.append(f"Judge agrees with your ratings: Kendall tau = {agreement.tau:.2f}"
                       f"{p_value} over {agreement.n} outputs")
        return out


def build_report(variants: Sequence[tuple[str, str]],
                 results: Iterable[EvalResult | Sample],
                 preferences: Iterable[Preference] = (), ratings: Iterable[Rating] = (),
                 seed: int = 0, output_variant: Mapping[str, str] | None = None,
                 alpha: float = 0.05) -> EvalReport:
    """The report of evaluated outputs of ``variants`` (``(variant_id, label)``, in order).

    ``output_variant`` maps the output ids of ``preferences`` to variants, on top of what
    ``results`` already say. What counts is pass_rates.py's: one verdict per cell, the later
    one when a cell was evaluated twice (a re-check replaces the earlier verdict), a branch
    never (it is counted apart). ``seed`` drives every bootstrap, so the same inputs give the
    same report.

    ``results`` is read once, as it comes (a stream of the store's batches will do): each
    verdict is kept only as its ``Sample``."""
    labels = dict(variants)
    if len(labels) != len(variants):
        raise ValueError("Each variant of a report must be listed once; there are duplicates.")
    shared: dict = {}
    results = [Sample.of(result, shared) for result in results]
    for result in results:
        if result.variant_id not in labels:
            raise ValueError(f"A result belongs to variant '{result.variant_id}', which is not "
                             "among the report's variants.")
    by_variant = {variant_id: {} for variant_id in labels} | by_unit(results)
    counts = pass_counts(list(labels), results)
    kept = [r for per_unit in by_variant.values() for r in per_unit.values()]
    owners = {r.output_id: r.variant_id for r in kept} | dict(output_variant or {})
    ranking, used, ignored = _ranking(list(labels), preferences, owners, seed)
    return EvalReport(
        variants=tuple(VariantSummary.of(label, counts[variant_id], alpha)
                       for variant_id, label in variants),
        assertions=_assertion_summaries(list(labels), by_variant, alpha),
        comparisons=tuple(_compare(a, b, labels, by_variant, seed, alpha)
                          for a, b in combinations(labels, 2)),
        ranking=ranking, judge_agreement=_judge_agreement(kept, ratings),
        preferences_used=used, preferences_ignored=ignored)


def _assertion_summaries(order: list[str], by_variant: dict[str, dict[Unit, Sample]],
                         alpha: float) -> tuple[AssertionSummary, ...]:
    # label -> variant -> [passed, total]; labels kept in the order they first appear
    counts: dict[str, dict[str, list[int]]] = {}
    for variant_id in order:
        for result in by_variant[variant_id].values():
            for label, passed in result.checks:
                tally = counts.setdefault(label, {}).setdefault(variant_id, [0, 0])
                tally[0] += passed
                tally[1] += 1
    return tuple(AssertionSummary(label, variant_id, passed, total, wilson(passed, total, alpha))
                 for label, per_variant in counts.items()
                 for variant_id in order if variant_id in per_variant
                 for passed, total in [per_variant[variant_id]])


def _compare(a: str, b: str, labels: dict[str, str],
             by_variant: dict[str, dict[Unit, Sample]], seed: int,
             alpha: float) -> Comparison:
    units = [unit for unit in by_variant[a] if unit in by_variant[b]]
    first = [by_variant[a][unit] for unit in units]
    second = [by_variant[b][unit] for unit in units]
    passes = mcnemar_exact([r.passed for r in first], [r.passed for r in second])
    scores = paired_scores([r.score for r in first], [r.score for r in second], seed,
                           confidence=1 - alpha)
    # With repeats a unit is one output, not one case; say so in the sentence.
    unit_word = "cases" if len({case for case, _ in units}) == len(units) else "outputs"
    return Comparison(a, b, passes, scores,
                      describe_comparison(labels[a], labels[b], passes, alpha, unit_word),
                      describe_comparison(labels[a], labels[b], scores, alpha, unit_word))


def _ranking(order: list[str], preferences: Iterable[Preference], owners: dict[str, str],
             seed: int) -> tuple[Ranking | None, int, int]:
    """Bradley–Terry over the variants from every pairwise judgement, the user's blind
    compare (rater "") and the pairwise judge (rater "judge:…") alike."""
    comparisons, ignored = [], 0
    for preference in preferences:
        first = owners.get(preference.output_a_id)
        second = owners.get(preference.output_b_id)
        if first is None or second is None or first == second:
            ignored += 1  # not between two of these variants: says nothing about the ranking
            continue
        comparisons.append((first, second, preference.winner))
    if not comparisons:
        return None, 0, ignored
    ranking = bradley_terry(order, comparisons).bootstrap(seed, BOOTSTRAP_RESAMPLES)
    return ranking, len(comparisons), ignored


def _judge_agreement(results: list[Sample], ratings: Iterable[Rating]) -> Agreement | None:
    """Kendall τ between the rubric judge's score and the user's stars, on outputs that have
    both (several of either: their mean)."""
    stars: dict[str, list[int]] = {}
    for rating in ratings:
        if not rating.rater.startswith(JUDGE_RATER_PREFIX):
            stars.setdefault(rating.output_id, []).append(rating.score)
    judge, human = [], []
    for result in results:
        if result.rubric and result.output_id in stars:
            judge.append(fmean(result.rubric))
            human.append(fmean(stars[result.output_id]))
    agreement = kendall_tau(judge, human)
    return agreement if agreement.tau is not None else None
