"""The report of a stored evaluation, on hand-made results whose counts, tests and sentences are
worked out by hand below."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from scipy import stats

from workbench.core.evaluation import Assertion, AssertionResult, EvalResult, combine, failed_output
from workbench.core.ratings import Preference, Rating
from workbench.services.evaluation.report import build_report

CONTAINS = Assertion("contains", "Paris")
RUBRIC = Assertion("llm-rubric", "names the capital", provider="judge-model")
SHORT, LONG = ("v-short", "Short prompt"), ("v-long", "Long prompt")

# (case, repeat) -> outcome: True/False = passed or failed, "error" = the generation failed.
# Long has no output for (c5, 1), so the two variants pair on 9 units, not 10.
OUTCOMES = {
    "v-short": {("c1", 0): True, ("c1", 1): True, ("c2", 0): True, ("c2", 1): False,
                ("c3", 0): False, ("c3", 1): False, ("c4", 0): "error", ("c4", 1): True,
                ("c5", 0): False, ("c5", 1): False},
    "v-long": {("c1", 0): True, ("c1", 1): True, ("c2", 0): True, ("c2", 1): True,
               ("c3", 0): True, ("c3", 1): False, ("c4", 0): True, ("c4", 1): True,
               ("c5", 0): True},
}
# the judge's rubric score of each output: high when it passed, low when not, varied per case
RUBRIC_SCORES = {"c1": 0.9, "c2": 0.8, "c3": 0.6, "c4": 0.7, "c5": 0.65}


def output_id(variant: str, case: str, repeat: int) -> str:
    return f"{variant}/{case}/{repeat}"


def make_result(variant: str, case: str, repeat: int, outcome) -> EvalResult:
    if outcome == "error":
        verdict = failed_output("the model host died")
    else:
        rubric = RUBRIC_SCORES[case] if outcome else 0.2
        verdict = combine([AssertionResult(CONTAINS, outcome, 1.0 if outcome else 0.0,
                                           "" if outcome else "'Paris' not found"),
                           AssertionResult(RUBRIC, outcome, rubric, "judge says so")])
    return EvalResult("run-1", output_id(variant, case, repeat), variant, case, repeat, verdict)


def all_results() -> list[EvalResult]:
    return [make_result(variant, case, repeat, outcome)
            for variant, outcomes in OUTCOMES.items()
            for (case, repeat), outcome in outcomes.items()]


def test_counts_per_variant_and_per_assertion():
    report = build_report([SHORT, LONG], all_results())
    short, long = report.variants
    # Short passes c1×2, c2/0, c4/1; the failed generation counts as a fail
    assert (short.label, short.passed, short.total, short.errors) == ("Short prompt", 4, 10, 1)
    assert short.rate == 0.4
    assert (long.passed, long.total, long.errors, long.rate) == (8, 9, 0, 8 / 9)
    # a score is the mean of contains (1/0) and the rubric score
    assert short.mean_score == pytest.approx(
        ((1 + 0.9) * 2 + (1 + 0.8) + (0 + 0.2) * 5 + 0 + (1 + 0.7)) / 2 / 10)
    assert (short.interval.low, short.interval.high) == pytest.approx((0.16818, 0.68732),
                                                                      abs=1e-5)
    per_assertion = {(a.label, a.variant_id): (a.passed, a.total) for a in report.assertions}
    # the failed generation was never checked: 9 checked outputs on both sides
    assert per_assertion == {("contains", "v-short"): (4, 9), ("contains", "v-long"): (8, 9),
                             ("llm-rubric", "v-short"): (4, 9), ("llm-rubric", "v-long"): (8, 9)}
    assert [a.label for a in report.assertions] == ["contains"] * 2 + ["llm-rubric"] * 2


def test_paired_comparison_and_its_sentences():
    report = build_report([SHORT, LONG], all_results(), seed=5)
    (comparison,) = report.comparisons
    assert (comparison.variant_a, comparison.variant_b) == ("v-short", "v-long")
    passes = comparison.passes
    # paired units: 9; only Long passed c2/1, c3/0, c4/0 (Short's error) and c5/0; never Short
    assert (passes.n, passes.b_only, passes.a_only) == (9, 4, 0)
    assert passes.p_value == pytest.approx(2 * 0.5 ** 4)  # exact binomial, both tails
    assert comparison.sentence == (
        "Long prompt passes 4 more of 9 outputs than Short prompt; p = 0.12, not distinguishable")
    scores = comparison.scores
    short = {(r.case_id, r.repeat): r.score for r in all_results() if r.variant_id == "v-short"}
    long = {(r.case_id, r.repeat): r.score for r in all_results() if r.variant_id == "v-long"}
    differences = [long[unit] - short[unit] for unit in long]
    assert scores.n == 9
    assert scores.p_value == pytest.approx(stats.wilcoxon(differences).pvalue)
    assert scores.mean_difference == pytest.approx(sum(differences) / 9)
    assert comparison.score_sentence.startswith(
        f"Long prompt scores {scores.mean_difference:.3g} higher than Short prompt on average "
        "over 9 outputs (95% interval ")
    assert build_report([SHORT, LONG], all_results(), seed=5) == report  # seeded


def test_one_repeat_speaks_of_cases_and_three_variants_pair_in_order():
    first_repeat = [r for r in all_results() if r.repeat == 0]
    third = ("v-third", "Third")
    third_results = [make_result("v-third", case, 0, False) for case in ("c1", "c2")]
    report = build_report([SHORT, LONG, third], first_repeat + third_results)
    assert [(c.variant_a, c.variant_b) for c in report.comparisons] == [
        ("v-short", "v-long"), ("v-short", "v-third"), ("v-long", "v-third")]
    # repeat 0: Long alone passed c3, c4 and c5
    assert report.comparisons[0].sentence == (
        "Long prompt passes 3 more of 5 cases than Short prompt; p = 0.25, not distinguishable")
    # on c1 and c2 Short passed both, Third neither
    assert report.comparisons[1].sentence == (
        "Third passes 2 fewer of 2 cases than Short prompt; p = 0.5, not distinguishable")


def test_ranking_uses_the_blind_compare_and_the_judge():
    results = all_results()
    a = output_id("v-short", "c1", 0)
    b = output_id("v-long", "c1", 0)
    preferences = (
        [Preference(a, b, "b") for _ in range(3)]  # the user's blind compare
        + [Preference(b, a, "a", rater="judge:smollm")]  # the pairwise judge, other way round
        + [Preference(a, b, "tie"), Preference(a, b, "a", rater="judge:smollm")]
        + [Preference("not-in-this-run", b, "a")]  # an output of no listed variant
        + [Preference(b, output_id("v-long", "c2", 0), "a")]  # two outputs of one variant
        + [Preference("extra-output", b, "b")]  # mapped by output_variant below
    )
    report = build_report([SHORT, LONG], results, preferences, seed=2,
                          output_variant={"extra-output": "v-short"})
    assert (report.preferences_used, report.preferences_ignored) == (7, 2)
    ranking = report.ranking
    assert [e.item for e in ranking.items] == ["v-long", "v-short"]
    long, short = ranking.items
    assert (long.wins, long.comparisons) == (5.5, 7)  # 3 + judge 1 + tie ½ + extra 1
    assert (short.wins, short.comparisons) == (1.5, 7)
    assert long.interval.low <= long.strength <= long.interval.high
    assert report == build_report([SHORT, LONG], results, preferences, seed=2,
                                  output_variant={"extra-output": "v-short"})
    assert build_report([SHORT, LONG], results).ranking is None


def test_judge_agreement_with_the_users_stars():
    results = all_results()
    # stars that order the outputs as the rubric scores do (0.9, 0.8, 0.7, 0.2)
    ratings = [Rating(output_id("v-long", "c1", 0), 5), Rating(output_id("v-long", "c2", 0), 4),
               Rating(output_id("v-long", "c4", 0), 3), Rating(output_id("v-short", "c3", 0), 1),
               # a second rating of one output: their mean (4) still sits between its neighbours
               Rating(output_id("v-long", "c1", 0), 3),
               # ratings a judge gave are not the user's, and an errored output has no rubric
               Rating(output_id("v-long", "c3", 1), 5, rater="judge:smollm"),
               Rating(output_id("v-short", "c4", 0), 5)]
    report = build_report([SHORT, LONG], results, ratings=ratings)
    agreement = report.judge_agreement
    expected = stats.kendalltau([0.9, 0.8, 0.7, 0.2], [4, 4, 3, 1])
    assert agreement.n == 4
    assert agreement.tau == pytest.approx(expected.statistic)
    assert agreement.p_value == pytest.approx(expected.pvalue)
    # one rated output is not enough
    assert build_report([SHORT, LONG], results, ratings=ratings[:1]).judge_agreement is None


def test_json_and_terminal_lines():
    results = all_results()
    a, b = output_id("v-short", "c1", 0), output_id("v-long", "c1", 0)
    ratings = [Rating(a, 5), Rating(b, 2), Rating(output_id("v-short", "c3", 0), 1)]
    report = build_report([SHORT, LONG], results, [Preference(a, b, "b")], ratings)
    data = report.to_dict()

    def plain(value):
        if isinstance(value, dict):
            return all(type(k) is str and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return type(value) in (str, int, float, bool, type(None))

    assert plain(data), "to_dict must hold plain JSON types only, no numpy scalars"
    assert json.loads(json.dumps(data)) == data
    assert data["variants"][1]["passed"] == 8
    # generation errors (JUnit's errors=), also under their old name for older readers
    assert data["variants"][0]["errors"] == data["variants"][0]["failures"] == 1
    assert data["ranking"]["items"][0]["label"] == "Long prompt"
    assert data["comparisons"][0]["passes"]["b_only"] == 4
    assert report.summary() == {
        "v-short": {"label": "Short prompt", "passed": 4, "total": 10, "rate": 0.4},
        "v-long": {"label": "Long prompt", "passed": 8, "total": 9, "rate": 8 / 9}}

    lines = report.lines()
    assert lines[0].split() == ["variant", "passed", "rate", "95%", "interval", "score",
                                "errors"]
    assert lines[1].split()[:5] == ["Short", "prompt", "4/10", "40%", "[17%,"]
    assert lines[2].split()[:4] == ["Long", "prompt", "8/9", "89%"]
    assert lines[3].startswith("Long prompt passes 4 more of 9 outputs than Short prompt")
    assert lines[4].startswith("Ranking from 1 pairwise judgement: Long prompt +")
    assert lines[5].startswith("Judge agrees with your ratings: Kendall tau = ")


def test_nothing_evaluated_and_bad_input():
    report = build_report([SHORT, LONG], [])
    assert report.variants[0].rate is None and report.variants[0].mean_score is None
    assert (report.variants[0].interval.low, report.variants[0].interval.high) == (0.0, 1.0)
    assert report.comparisons[0].sentence == (
        "Short prompt and Long prompt have no cases in common; nothing to compare.")
    assert report.judge_agreement is None and report.ranking is None
    assert report.lines()[1].split()[2:4] == ["0/0", "-"]
    with pytest.raises(ValueError, match="variant 'v-other', which is not among"):
        build_report([SHORT], [make_result("v-other", "c1", 0, True)])
    with pytest.raises(ValueError, match="listed once"):
        build_report([SHORT, SHORT], [])


def test_a_recheck_replaces_the_earlier_verdict():
    first = make_result("v-short", "c1", 0, False)
    again = make_result("v-short", "c1", 0, True)
    report = build_report([SHORT], [first, again])
    assert (report.variants[0].passed, report.variants[0].total) == (1, 1)


def test_a_branch_is_counted_beside_its_variant_never_in_its_rate():
    """A branch forced from a token is an exploration: a passing branch of a failing cell
    leaves the variant's rate, interval, comparison and per-assertion counts as they were,
    and is reported apart. (It used to replace its parent's verdict: 5/6 instead of 4/6.)"""
    results = all_results()
    before = build_report([SHORT, LONG], results, seed=3)
    parent = output_id("v-short", "c3", 0)  # failed
    branch = replace(make_result("v-short", "c3", 0, True), output_id="branch-1",
                     branch_of=parent)
    report = build_report([SHORT, LONG], [*results, branch], seed=3)
    short = report.variants[0]
    assert (short.passed, short.total, short.rate) == (4, 10, 0.4)
    assert short.interval == before.variants[0].interval
    assert (short.branches, short.branches_passed) == (1, 1)
    assert report.comparisons == before.comparisons
    assert report.assertions == before.assertions
    assert report.summary() == before.summary()  # the trend's numbers
    assert "Short prompt: +1 branch: 1 passes, not counted" in report.lines()
    assert report.to_dict()["variants"][0]["branches"] == 1


def test_every_non_zero_exit_says_why():
    """workbench eval prints these lines: each variant below the threshold with its pass
    rate and the threshold; cells that failed to generate; a run that did not finish."""
    from workbench.core.runs import Run, RunStatus
    from workbench.services.evaluation.eval_service import EvalOutcome

    report = build_report([SHORT, LONG], all_results())  # Short 4/10, Long 8/9
    run = Run("session", "suite", None, RunStatus.DONE, ())

    def outcome(errors=0, status=RunStatus.DONE):
        return EvalOutcome(run, "session", report, errors, status)

    assert outcome().exit_code() == 100
    assert outcome().exit_reasons() == [
        "variant 'Short prompt' passed 4/10 (40%), below the threshold of 100% (every case "
        "must pass)",
        "variant 'Long prompt' passed 8/9 (89%), below the threshold of 100% (every case "
        "must pass)"]
    assert outcome().exit_code(0.875) == 100
    assert outcome().exit_reasons(0.875) == [
        "variant 'Short prompt' passed 4/10 (40%), below the threshold of 87.5%"]
    assert outcome().exit_code(0.4) == 0 and outcome().exit_reasons(0.4) == []
    assert outcome(errors=2).exit_code() == 1
    assert outcome(errors=2).exit_reasons() == [
        "2 cells failed to generate (their errors are in the results)"]
    assert outcome(status=RunStatus.CANCELLED).exit_reasons(0.4) == [
        "the run ended cancelled before every cell was generated"]
