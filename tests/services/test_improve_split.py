"""Improve's split: seeded, stratified by expected answer, training and held-out disjoint;
successive halving's nested samples."""

from __future__ import annotations

from collections import Counter

import pytest

from workbench.core.cases import TestCase
from workbench.core.errors import WorkbenchError
from workbench.services.improve.proposer import parse_rewrite
from workbench.services.improve.split import round_order, rung_sizes, split_cases


def cases(labels: str) -> list[TestCase]:
    return [TestCase("set", {"text": f"case {i}"}, expected=label, position=i)
            for i, label in enumerate(labels)]


def test_the_split_is_stratified_by_expected_answer_and_seeded():
    given = cases("P" * 12 + "N" * 8)
    split = split_cases(given, 0.4, seed=3)
    expected = {case.id: case.expected for case in given}
    assert len(split.held_out) == 8 and len(split.training) == 12
    assert not set(split.held_out) & set(split.training)
    assert Counter(expected[i] for i in split.held_out) == {"P": 5, "N": 3}  # 12:8 kept
    assert split_cases(given, 0.4, seed=3) == split
    assert split_cases(given, 0.4, seed=4).held_out != split.held_out


def test_cases_without_expected_answers_split_as_one_group():
    split = split_cases([TestCase("set", {"x": str(i)}, position=i) for i in range(10)],
                        0.3, seed=0)
    assert (len(split.training), len(split.held_out)) == (7, 3)


def test_too_few_cases_are_refused():
    with pytest.raises(WorkbenchError, match="at least 4"):
        split_cases(cases("PN"), 0.5, seed=0)


def test_halving_samples_grow_to_every_training_case_and_are_nested():
    assert rung_sizes(40) == [10, 20, 40]
    assert rung_sizes(4) == [2, 4]
    training = tuple(f"c{i}" for i in range(12))
    order = round_order(training, seed=1, round_number=2)
    assert sorted(order) == sorted(training)
    assert round_order(training, 1, 2) == order != round_order(training, 1, 3)


def test_a_rewrite_is_read_after_its_critique():
    rewrite = parse_rewrite("CRITIQUE: The answers were sentences.\nINSTRUCTION: Reply with "
                            "one word, positive or negative.", "Classify the review.")
    assert rewrite.critique == "The answers were sentences."
    assert rewrite.instruction == "Reply with one word, positive or negative."


def test_an_answer_without_a_new_instruction_gives_no_rewrite():
    assert parse_rewrite("I think the reviews are nice.", "Classify.") is None
    assert parse_rewrite("CRITIQUE: fine\nINSTRUCTION: Classify the review.",
                         "Classify the review.") is None  # the same one again
    assert parse_rewrite("INSTRUCTION: ok", "Classify.") is None  # too short to be one
