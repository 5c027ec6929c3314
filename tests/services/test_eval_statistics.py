"""The evaluation lab's statistics, checked against statsmodels and scipy and on data whose answer
is known (a Bradley–Terry fit of comparisons simulated from known strengths)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from workbench.services.evaluation.statistics import (
    PairedTest,
    bradley_terry,
    describe_comparison,
    kendall_tau,
    mcnemar_exact,
    paired_scores,
    wilson,
)


@pytest.mark.parametrize("passed,total", [(0, 10), (10, 10), (3, 10), (1, 1), (0, 1),
                                          (17, 40), (199, 200)])
def test_wilson_equals_statsmodels(passed, total):
    low, high = proportion_confint(passed, total, alpha=0.05, method="wilson")
    interval = wilson(passed, total)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)
    assert type(interval.low) is float and type(interval.high) is float
    assert 0.0 <= interval.low <= passed / total <= interval.high <= 1.0


def test_wilson_other_alpha_and_edges():
    low, high = proportion_confint(7, 12, alpha=0.1, method="wilson")
    assert wilson(7, 12, alpha=0.1).low == pytest.approx(low)
    assert wilson(7, 12, alpha=0.1).high == pytest.approx(high)
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)
    with pytest.raises(ValueError, match="5 of 3"):
        wilson(5, 3)


def _pairs(both, a_only, b_only, neither):
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return a, b


@pytest.mark.parametrize("table", [(5, 4, 8, 3), (0, 0, 6, 2), (10, 1, 1, 10), (2, 9, 0, 1),
                                   (0, 13, 20, 0)])
def test_mcnemar_equals_statsmodels(table):
    both, a_only, b_only, neither = table
    test = mcnemar_exact(*_pairs(*table))
    expected = mcnemar([[both, a_only], [b_only, neither]], exact=True).pvalue
    assert test.p_value == pytest.approx(expected, rel=1e-12)
    assert (test.b_only, test.a_only, test.n) == (b_only, a_only, sum(table))
    assert test.method == "mcnemar-exact"


def test_mcnemar_when_nothing_differs():
    test = mcnemar_exact(*_pairs(6, 0, 0, 3))
    assert test.p_value == 1.0 and test.n == 9 and "agree" in test.note
    assert mcnemar_exact([], []).p_value == 1.0
    with pytest.raises(ValueError, match="3 against 2"):
        mcnemar_exact([True, False, True], [True, True])


def test_sentences_for_known_tables():
    # 8 units only B passed, 4 only A: statsmodels' exact p is 0.3877
    assert describe_comparison("A", "B", mcnemar_exact(*_pairs(5, 4, 8, 3))) == (
        "B passes 4 more of 20 cases than A; p = 0.39, not distinguishable")
    # 10 only A, 0 only B: p = 2 / 2**10 = 0.00195
    assert describe_comparison("A", "B", mcnemar_exact(*_pairs(1, 10, 0, 1))) == (
        "B passes 10 fewer of 12 cases than A; p = 0.002, A is better")
    assert describe_comparison("base", "tuned", mcnemar_exact(*_pairs(0, 0, 12, 0))) == (
        "tuned passes 12 more of 12 cases than base; p < 0.001, tuned is better")
    assert describe_comparison("A", "B", mcnemar_exact(*_pairs(1, 2, 2, 1))) == (
        "B and A pass the same number of the 6 cases; p = 1, not distinguishable")
    assert describe_comparison("A", "B", mcnemar_exact([], [])) == (
        "A and B have no cases in common; nothing to compare.")
    # the threshold decides the verdict
    loose = describe_comparison("A", "B", mcnemar_exact(*_pairs(5, 4, 8, 3)), alpha=0.5)
    assert loose.endswith("p = 0.39, B is better")


def test_paired_scores_equal_scipy_and_are_seeded():
    a = [0.1, 0.5, 0.3, 0.2, 0.9, 0.4, 0.35, 0.8]
    b = [0.3, 0.6, 0.2, 0.5, 1.0, 0.7, 0.35, 0.95]
    test = paired_scores(a, b, seed=7)
    differences = np.subtract(b, a)
    assert test.p_value == pytest.approx(stats.wilcoxon(differences).pvalue)
    assert test.mean_difference == pytest.approx(differences.mean())
    assert test.interval.low < test.mean_difference < test.interval.high
    assert paired_scores(a, b, seed=7).interval == test.interval
    assert paired_scores(a, b, seed=8).interval != test.interval
    sentence = describe_comparison("A", "B", test)
    # mean of the differences: 1.05 / 8; one difference is 0, Wilcoxon drops it
    assert sentence.startswith("B scores 0.131 higher than A on average over 8 cases "
                               "(95% interval ")
    assert sentence.endswith(f"; p = {test.p_value:.2g}, not distinguishable")
    assert describe_comparison("A", "B", test, alpha=0.1).endswith(", B is better")


def test_paired_scores_without_differences():
    test = paired_scores([0.5, 1.0, 0.0], [0.5, 1.0, 0.0], seed=0)
    assert test.p_value == 1.0 and test.note == "all differences are zero"
    assert (test.interval.low, test.interval.high) == (0.0, 0.0)
    assert describe_comparison("A", "B", test) == (
        "B and A score the same on average over 3 cases; p = 1, not distinguishable")
    assert paired_scores([], [], seed=0).n == 0


def _simulate(strengths: dict[str, float], count: int, seed: int, tie_band: float = 0.0):
    """Comparisons drawn from the Bradley–Terry model itself; outcomes whose uniform draw lands
    within ``tie_band`` of the win probability are called ties."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    comparisons = []
    for _ in range(count):
        a, b = rng.choice(names, 2, replace=False)
        p_a = 1 / (1 + math.exp(-(strengths[a] - strengths[b])))
        draw = rng.random()
        winner = "tie" if abs(draw - p_a) < tie_band else ("a" if draw < p_a else "b")
        comparisons.append((str(a), str(b), winner))
    return comparisons


def test_bradley_terry_recovers_a_known_ordering():
    truth = {"delta": -1.5, "alpha": 1.5, "charlie": -0.5, "bravo": 0.5, "echo": 0.0}
    comparisons = _simulate(truth, 600, seed=11, tie_band=0.05)
    assert any(winner == "tie" for _, _, winner in comparisons)
    ranking = bradley_terry(list(truth), comparisons)
    assert [e.item for e in ranking.items] == sorted(truth, key=lambda n: -truth[n])
    strengths = {e.item: e.strength for e in ranking.items}
    assert sum(strengths.values()) == pytest.approx(0.0, abs=1e-9)
    for name, true_strength in truth.items():
        assert strengths[name] == pytest.approx(true_strength, abs=0.35)

    with_intervals = ranking.bootstrap(seed=3, n=300)
    for entry in with_intervals.items:
        assert entry.interval.low <= entry.strength <= entry.interval.high
        assert entry.interval.low <= truth[entry.item] <= entry.interval.high
    assert ranking.bootstrap(seed=3, n=300) == with_intervals
    assert ranking.bootstrap(seed=4, n=300) != with_intervals


def test_bradley_terry_keeps_all_wins_and_all_losses_finite():
    comparisons = ([("champ", "mid", "a")] * 6 + [("mid", "champ", "b")] * 4
                   + [("mid", "last", "a")] * 5 + [("champ", "last", "a")] * 3)
    ranking = bradley_terry(["last", "mid", "champ"], comparisons).bootstrap(seed=1)
    assert [e.item for e in ranking.items] == ["champ", "mid", "last"]
    for entry in ranking.items:
        # without the prior the maximum likelihood is at infinity (the optimiser stops near
        # ±23 here); one virtual tie keeps it a few units from 0
        assert math.isfinite(entry.strength) and abs(entry.strength) < 4
        assert -5 < entry.interval.low <= entry.strength <= entry.interval.high < 5
    champ = ranking.items[0]
    assert (champ.wins, champ.comparisons) == (13.0, 13)


def test_bradley_terry_ties_and_orientation():
    # only ties: nobody is stronger
    tied = bradley_terry(["x", "y"], [("x", "y", "tie")] * 4)
    assert [e.strength for e in tied.items] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert [e.wins for e in tied.items] == [2.0, 2.0]
    # 3 wins to 1: the gap is log 3 without a prior; the weak prior shrinks it, but only a bit
    record = [("x", "y", "a")] * 3 + [("x", "y", "b")]
    gap = bradley_terry(["x", "y"], record).items[0].strength * 2
    assert 0.5 * math.log(3) < gap < math.log(3)
    # the same games written the other way round give the same strengths
    flipped = [("y", "x", {"a": "b", "b": "a", "tie": "tie"}[w]) for _, _, w in record]
    assert bradley_terry(["x", "y"], flipped) .items[0].strength == pytest.approx(gap / 2)
    # a tie is half a win each: two ties and one win ≈ between
    mixed = bradley_terry(["x", "y"], [("x", "y", "tie")] * 2 + [("x", "y", "a")])
    assert mixed.items[0].item == "x" and mixed.items[0].wins == 2.0


def test_bradley_terry_rejects_bad_comparisons():
    with pytest.raises(ValueError, match="'zed', which is not among"):
        bradley_terry(["x", "y"], [("x", "zed", "a")])
    with pytest.raises(ValueError, match="not 'left'"):
        bradley_terry(["x", "y"], [("x", "y", "left")])
    with pytest.raises(ValueError, match="against itself"):
        bradley_terry(["x", "y"], [("x", "x", "a")])
    empty = bradley_terry(["x", "y"], []).bootstrap(seed=0)
    assert [(e.strength, e.interval.low, e.interval.high) for e in empty.items] == [(0, 0, 0)] * 2


def test_kendall_tau_equals_scipy():
    judge = [0.9, 0.2, 0.6, 0.6, 0.1, 0.75, 0.3]
    human = [5, 1, 3, 4, 2, 4, 3]
    agreement = kendall_tau(judge, human)
    expected = stats.kendalltau(judge, human)
    assert agreement.tau == pytest.approx(expected.statistic)
    assert agreement.p_value == pytest.approx(expected.pvalue)
    assert agreement.n == 7 and agreement.note == ""


@pytest.mark.parametrize("judge,human,why", [([], [], "0 output"), ([0.5], [3], "1 output"),
                                             ([0.5, 0.5, 0.5], [1, 3, 5], "judge gave every"),
                                             ([0.1, 0.9], [4, 4], "human gave every")])
def test_kendall_tau_not_enough(judge, human, why):
    agreement = kendall_tau(judge, human)
    assert agreement.tau is None and agreement.p_value is None
    assert agreement.note.startswith("not enough") and why in agreement.note


def test_paired_test_to_dict_is_plain():
    data = paired_scores([0.0, 0.5, 1.0], [1.0, 0.5, 0.2], seed=0).to_dict()
    assert type(data["p_value"]) is float and type(data["interval"]["low"]) is float
    assert PairedTest("wilcoxon", 0, 1.0).to_dict()["interval"] is None
