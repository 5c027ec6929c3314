"""How sure an evaluation can be: Wilson intervals for pass rates, paired tests between two
variants on the same cases, a Bradley–Terry ranking from pairwise judgements and the agreement
of a judge with the user's ratings.

The formulas are statsmodels' and scipy's; this module chooses them, feeds them and turns their
answers into plain data (floats, never numpy scalars) and plain sentences.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

# scipy and statsmodels are imported inside the functions that use them: importing them costs
# ~1 s of CPU (21 s of wall time measured on a busy machine), and the window imports this module
# at start through the evaluation services while it may never draw an interval.

WINNERS = ("a", "b", "tie")
# Weight of the prior: every item plays this many virtual ties against a pseudo-item of strength
# 0. One tie is enough to keep an item with only wins (or only losses) finite, and weak enough
# that a handful of real comparisons outweighs it.
PRIOR_TIES = 1.0


@dataclass(frozen=True)
class Interval:
    """A confidence interval [low, high]."""

    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}


@dataclass(frozen=True)
class PairedTest:
    """Two variants measured on the same units (a unit: one case, or one repeat of one case).

    ``method`` is ``"mcnemar-exact"`` (pass/fail) or ``"wilcoxon"`` (scores). For McNemar,
    ``b_only`` / ``a_only`` count the units only B / only A passed; for scores,
    ``mean_difference`` is the mean of B − A with a paired bootstrap ``interval``.
    ``note`` says why a p-value is 1 without a test (nothing differs, nothing to compare)."""

    method: str
    n: int
    p_value: float
    b_only: int = 0
    a_only: int = 0
    mean_difference: float | None = None
    interval: Interval | None = None
    confidence: float = 0.95  # of ``interval``
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "n": self.n, "p_value": self.p_value,
                "b_only": self.b_only, "a_only": self.a_only,
                "mean_difference": self.mean_difference,
                "interval": self.interval.to_dict() if self.interval else None,
                "confidence": self.confidence, "note": self.note}


@dataclass(frozen=True)
class Agreement:
    """Kendall's τ between two sets of judgements of the same outputs; ``tau`` is None when
    there is not enough to say (``note`` says why)."""

    tau: float | None
    p_value: float | None
    n: int
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"tau": self.tau, "p_value": self.p_value, "n": self.n, "note": self.note}


def wilson(passed: int, total: int, alpha: float = 0.05) -> Interval:
    """Wilson score interval of a pass rate; nothing run → the whole of [0, 1]. statsmodels'
    formula (proportion_confint, method="wilson"; the tests check they agree), written out
    with the standard library: the grid's pass line shows one after every run, and importing
    statsmodels for it cost the first run seconds."""
    if total < 0 or passed < 0 or passed > total:
        raise ValueError(f"A pass count must be between 0 and the total: {passed} of {total}.")
    if total == 0:
        return Interval(0.0, 1.0)
    rate = passed / total
    z = NormalDist().inv_cdf(1 - alpha / 2)
    shrink = 1 + z * z / total
    center = (rate + z * z / (2 * total)) / shrink
    half = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / shrink
    # at 0 or all passed the bound is exactly 0 or 1, not float noise beside it
    low = 0.0 if passed == 0 else max(0.0, center - half)
    high = 1.0 if passed == total else min(1.0, center + half)
    return Interval(low, high)


def _same_length(a: Sequence, b: Sequence, what: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"Paired {what} need one value per unit on each side: "
                         f"{len(a)} against {len(b)}.")


def mcnemar_exact(a: Sequence[bool], b: Sequence[bool]) -> PairedTest:
    """Exact McNemar test of paired pass/fail results of variants A and B on the same units.

    Only the discordant units count (passed by one, failed by the other); when there are none
    the variants cannot be told apart and p = 1."""
    _same_length(a, b, "pass/fail results")
    both = sum(1 for x, y in zip(a, b) if x and y)
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    neither = len(a) - both - a_only - b_only
    if a_only + b_only == 0:
        note = "no units to compare" if not a else "both variants agree on every unit"
        return PairedTest("mcnemar-exact", len(a), 1.0, b_only, a_only, note=note)
    from statsmodels.stats.contingency_tables import mcnemar

    result = mcnemar([[both, a_only], [b_only, neither]], exact=True)
    return PairedTest("mcnemar-exact", len(a), min(1.0, float(result.pvalue)), b_only, a_only)


BOOTSTRAP_VALUES = 1_000_000  # resampled values computed at once (8 MB a copy)


def paired_scores(a: Sequence[float], b: Sequence[float], seed: int,
                  confidence: float = 0.95, resamples: int = 9999) -> PairedTest:
    """Wilcoxon signed-rank test of paired scores, with a seeded bootstrap interval of the mean
    difference B − A (pairs resampled together, percentile interval)."""
    _same_length(a, b, "scores")
    differences = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if differences.size == 0:
        return PairedTest("wilcoxon", 0, 1.0, note="no units to compare")
    if not np.all(np.isfinite(differences)):
        raise ValueError("Paired scores must be finite numbers; a NaN or infinity was given.")
    mean = float(differences.mean())
    interval = _bootstrap_mean(differences, seed, confidence, resamples)
    if not np.any(differences):
        return PairedTest("wilcoxon", int(differences.size), 1.0, mean_difference=mean,
                          interval=interval, confidence=confidence,
                          note="all differences are zero")
    from scipy import stats

    p_value = float(stats.wilcoxon(differences).pvalue)
    return PairedTest("wilcoxon", int(differences.size), min(1.0, p_value),
                      mean_difference=mean, interval=interval, confidence=confidence)


def _bootstrap_mean(differences: np.ndarray, seed: int, confidence: float,
                    resamples: int) -> Interval | None:
    if differences.size < 2:
        return None  # one pair says nothing about spread
    if np.all(differences == differences[0]):
        # every resample has the same mean; scipy would warn about degenerate data
        return Interval(float(differences[0]), float(differences[0]))
    from scipy import stats

    # Resampling the differences is resampling the pairs: each difference is one pair.
    # In batches of about a million values: all resamples at once held resamples × pairs
    # numbers twice (1.6 GB for 10,000 pairs); the batches draw the same resamples.
    result = stats.bootstrap((differences,), np.mean, n_resamples=resamples,
                             confidence_level=confidence, method="percentile",
                             rng=np.random.default_rng(seed),
                             batch=max(1, BOOTSTRAP_VALUES // differences.size))
    low, high = result.confidence_interval
    return Interval(float(low), float(high))


def _number(value: float) -> str:
    """Three significant digits; float noise around zero (5.5e-18) reads as 0."""
    return f"{0.0 if abs(value) < 1e-9 else value:.3g}"


def _format_p(p_value: float) -> str:
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}"


def _verdict(name_a: str, name_b: str, p_value: float, b_ahead: bool, alpha: float) -> str:
    if p_value >= alpha:
        return f"{_format_p(p_value)}, not distinguishable"
    return f"{_format_p(p_value)}, {name_b if b_ahead else name_a} is better"


def describe_comparison(name_a: str, name_b: str, test: PairedTest, alpha: float = 0.05,
                        unit: str = "cases") -> str:
    """One plain sentence: "B passes 4 more of 20 cases than A; p = 0.12, not distinguishable".

    For a score test it speaks of the mean score difference and its interval instead."""
    if test.n == 0:
        return f"{name_a} and {name_b} have no {unit} in common; nothing to compare."
    if test.method == "mcnemar-exact":
        more = test.b_only - test.a_only
        if more == 0:
            head = f"{name_b} and {name_a} pass the same number of the {test.n} {unit}"
        else:
            word = "more" if more > 0 else "fewer"
            head = f"{name_b} passes {abs(more)} {word} of {test.n} {unit} than {name_a}"
        return f"{head}; {_verdict(name_a, name_b, test.p_value, more > 0, alpha)}"
    difference = test.mean_difference or 0.0
    if difference == 0:
        head = f"{name_b} and {name_a} score the same on average over {test.n} {unit}"
    else:
        word = "higher" if difference > 0 else "lower"
        head = (f"{name_b} scores {_number(abs(difference))} {word} than {name_a} on average over "
                f"{test.n} {unit}")
    if test.interval is not None and test.interval.low != test.interval.high:
        head += (f" ({test.confidence:.0%} interval {_number(test.interval.low)} to "
                 f"{_number(test.interval.high)})")
    return f"{head}; {_verdict(name_a, name_b, test.p_value, difference > 0, alpha)}"


@dataclass(frozen=True)
class RankedItem:
    """One item of a Bradley–Terry ranking: its log-strength (mean 0 over all items), its
    record, and (after ``Ranking.bootstrap``) an interval of the strength."""

    item: str
    strength: float
    wins: float  # a tie counts half
    comparisons: int
    interval: Interval | None = None

    def to_dict(self) -> dict[str, object]:
        return {"item": self.item, "strength": self.strength, "wins": self.wins,
                "comparisons": self.comparisons,
                "interval": self.interval.to_dict() if self.interval else None}


@dataclass(frozen=True)
class Ranking:
    """Items ordered best first by Bradley–Terry strength, with the comparisons they came from
    (kept so ``bootstrap`` can resample them)."""

    items: tuple[RankedItem, ...]
    comparisons: tuple[tuple[str, str, str], ...]

    def bootstrap(self, seed: int, n: int = 1000, confidence: float = 0.95) -> Ranking:
        """The same ranking with a percentile interval on every strength, from ``n`` refits on
        comparisons resampled with replacement. The same seed gives the same intervals; the
        prior keeps every interval finite. With very few comparisons (or all alike) every
        resample is the same data and the interval shrinks to the point: read it with the
        item's ``comparisons`` count."""
        if n < 1:
            raise ValueError(f"A bootstrap needs at least one resample, not {n}.")
        names = [entry.item for entry in self.items]
        if not self.comparisons:
            intervals = {name: Interval(0.0, 0.0) for name in names}
        else:
            rng = np.random.default_rng(seed)
            m = len(self.comparisons)
            # a resample as how often it drew each comparison: one row per resample
            drawn = rng.integers(0, m, (n, m))
            weights = np.stack([np.bincount(row, minlength=m) for row in drawn]).astype(float)
            fits = _fit(len(names), *_encode(names, self.comparisons), weights)
            tail = (1 - confidence) / 2 * 100
            lows, highs = np.percentile(fits, [tail, 100 - tail], axis=0)
            intervals = {name: Interval(float(lows[i]), float(highs[i]))
                         for i, name in enumerate(names)}
        return replace(self, items=tuple(replace(entry, interval=intervals[entry.item])
                                         for entry in self.items))

    def to_dict(self) -> dict[str, object]:
        return {"items": [entry.to_dict() for entry in self.items],
                "comparisons": len(self.comparisons)}


def _encode(items: Sequence[str], comparisons: Sequence[tuple[str, str, str]]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Comparisons as index pairs and A's share of the win (1, ½ or 0)."""
    index = {name: i for i, name in enumerate(items)}
    pairs = np.array([(index[a], index[b]) for a, b, _ in comparisons], dtype=int).reshape(-1, 2)
    share = {"a": 1.0, "b": 0.0, "tie": 0.5}
    outcomes = np.array([share[winner] for _, _, winner in comparisons], dtype=float)
    return pairs, outcomes


def _fit(count: int, pairs: np.ndarray, outcomes: np.ndarray,
         weights: np.ndarray | None = None) -> np.ndarray:
    """Maximum a-posteriori log-strengths, centred on mean 0: one row per row of ``weights``
    (how often each comparison counts; None: once each).

    The likelihood of A's share w of a comparison is σ(θa−θb)^w · σ(θb−θa)^(1−w); the prior is
    ``PRIOR_TIES`` virtual ties of each item against a pseudo-item fixed at 0. The rows are
    independent problems solved in one call (the sum of separate objectives), which keeps a
    thousand bootstrap refits to one vectorised optimisation."""
    weights = np.ones((1, len(outcomes))) if weights is None else weights
    rows = weights.shape[0]
    # incidence: gap = θ @ incidence.T, +1 for the first item of a comparison, −1 for the second
    incidence = np.zeros((len(outcomes), count))
    np.add.at(incidence, (np.arange(len(outcomes)), pairs[:, 0]), 1.0)
    np.add.at(incidence, (np.arange(len(outcomes)), pairs[:, 1]), -1.0)

    def negative_log_posterior(flat: np.ndarray) -> tuple[float, np.ndarray]:
        theta = flat.reshape(rows, count)
        gap = theta @ incidence.T
        # −log σ(x) = log(1 + e^−x), written with logaddexp so large gaps do not overflow
        loss = outcomes * np.logaddexp(0, -gap) + (1 - outcomes) * np.logaddexp(0, gap)
        value = np.sum(weights * loss)
        value += PRIOR_TIES * np.sum(0.5 * np.logaddexp(0, -theta) + 0.5 * np.logaddexp(0, theta))
        residual = weights * (outcomes - _sigmoid(gap))  # −d loss / d gap
        gradient = -(residual @ incidence) + PRIOR_TIES * (_sigmoid(theta) - 0.5)
        return float(value), gradient.ravel()

    from scipy import optimize

    result = optimize.minimize(negative_log_posterior, np.zeros(rows * count), jac=True,
                               method="L-BFGS-B",
                               options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 20000})
    theta = result.x.reshape(rows, count)
    return theta - theta.mean(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(x / 2))  # σ(x) without overflow for large |x|


def bradley_terry(items: Sequence[str], comparisons: Sequence[tuple[str, str, str]]) -> Ranking:
    """Rank ``items`` from pairwise comparisons ``(a, b, winner)``, winner ``"a"``, ``"b"`` or
    ``"tie"`` (half a win each). Strengths are log-scale with mean 0; call ``.bootstrap(seed)``
    on the result for intervals. An item never compared keeps strength 0."""
    names = list(items)
    if len(set(names)) != len(names):
        raise ValueError("Each item of a ranking must be named once; there are duplicates.")
    known = set(names)
    for a, b, winner in comparisons:
        for name in (a, b):
            if name not in known:
                raise ValueError(f"A comparison names '{name}', which is not among the items "
                                 "being ranked.")
        if a == b:
            raise ValueError(f"A comparison sets '{a}' against itself.")
        if winner not in WINNERS:
            raise ValueError(f"A comparison's winner is 'a', 'b' or 'tie', not '{winner}'.")
    comparisons = tuple((a, b, winner) for a, b, winner in comparisons)
    strengths = (_fit(len(names), *_encode(names, comparisons))[0] if comparisons
                 else np.zeros(len(names)))
    wins = dict.fromkeys(names, 0.0)
    played = dict.fromkeys(names, 0)
    for a, b, winner in comparisons:
        played[a] += 1
        played[b] += 1
        wins[a] += {"a": 1.0, "b": 0.0, "tie": 0.5}[winner]
        wins[b] += {"a": 0.0, "b": 1.0, "tie": 0.5}[winner]
    ranked = sorted((RankedItem(name, float(strengths[i]), wins[name], played[name])
                     for i, name in enumerate(names)), key=lambda entry: -entry.strength)
    return Ranking(tuple(ranked), comparisons)


def kendall_tau(judge: Sequence[float], human: Sequence[float]) -> Agreement:
    """Kendall's τ-b between a judge's scores and human ratings of the same outputs (scipy);
    fewer than two pairs, or a side that never varies, gives tau None with the reason."""
    _same_length(judge, human, "judgements")
    n = len(judge)
    if n < 2:
        return Agreement(None, None, n, f"not enough: {n} output(s) with both judgements, "
                                        "at least 2 are needed")
    for side, values in (("judge", judge), ("human", human)):
        if len(set(values)) < 2:
            return Agreement(None, None, n, f"not enough: the {side} gave every output the "
                                            "same value")
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.kendalltau(judge, human)
    tau, p_value = float(result.statistic), float(result.pvalue)
    if math.isnan(tau):
        return Agreement(None, None, n, "not enough: Kendall's tau is undefined for these values")
    return Agreement(tau, None if math.isnan(p_value) else p_value, n)
