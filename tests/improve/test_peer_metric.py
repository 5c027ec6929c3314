"""The DSPy peer (tests/bench/dspy_peer.py) optimises against its own plain implementation of
the shipped task's checks; the comparison is fair only if that metric says what the project's
check engine says. Every test of the task, against answers the bundled model gives and their
edge cases."""

from __future__ import annotations

import pytest

from tests.bench.bench_improve_peer import TASK, engine_split, score, task_cases
from tests.bench.peer_checks import passes, read_cases
from workbench.services.evaluation.suite_file import load_suite

ANSWERS = ["positive", "Negative", "NEGATIVE.", " Positive\n\n[[ ##",
           "The review is positive, but it's also a bit negative",
           "Positive, not negative", "The sentiment is positive.",
           "positive" + " " * 23, "positive" + " " * 22, "", "neutral"]


@pytest.fixture(scope="module")
def case_set():
    return task_cases(load_suite(TASK))


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_peers_metric_agrees_with_the_check_engine_on_every_case(case_set, answer):
    _, cases = read_cases(TASK)
    engine = score(case_set, {case["index"]: (answer, None) for case in cases})
    plain = {case["index"]: passes(case["checks"], answer) for case in cases}
    assert plain == engine


def test_a_bare_label_passes_exactly_the_cases_expecting_it(case_set):
    _, cases = read_cases(TASK)
    verdicts = score(case_set, {case["index"]: ("Positive", None) for case in cases})
    assert verdicts == {case["index"]: case["expected"] == "positive" for case in cases}
    assert 0 < sum(verdicts.values()) < len(cases)


def test_no_answer_fails_on_both_sides(case_set):
    _, cases = read_cases(TASK)
    assert not any(passes(case["checks"], None) for case in cases)
    failed = score(case_set, {case["index"]: (None, "AdapterParseError") for case in cases})
    assert not any(failed.values())


def test_the_split_is_the_engines_stratified_split(case_set):
    training, held_out = engine_split(case_set, seed=0)
    assert sorted(training + held_out) == list(range(len(case_set.cases)))
    assert len(held_out) == round(0.4 * len(case_set.cases))
    labels = [case_set.cases[i].expected for i in held_out]
    assert labels.count("positive") == labels.count("negative")
    assert engine_split(case_set, seed=1) != (training, held_out)
