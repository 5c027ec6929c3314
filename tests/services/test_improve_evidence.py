"""The significance rule of improve: the winner is offered only when it passes more paired
held-out units than the start with an exact McNemar p < 0.05."""

from __future__ import annotations

import pytest

from workbench.core.improve import DONE, Candidate, CandidateSettings, ImproveJob
from workbench.services.improve.evidence import NO_IMPROVEMENT, Evidence, weigh
from workbench.services.improve.results import ImproveOutcome, Spent, Split


def table(both: int, start_only: int, winner_only: int, neither: int):
    """Paired units as two lists: the start's verdicts and the winner's."""
    start = [True] * both + [True] * start_only + [False] * winner_only + [False] * neither
    winner = [True] * both + [False] * start_only + [True] * winner_only + [False] * neither
    return start, winner


def test_a_clear_gain_on_paired_units_is_accepted():
    evidence = weigh(*table(both=3, start_only=0, winner_only=8, neither=9))
    assert evidence.test.b_only == 8 and evidence.test.a_only == 0
    assert evidence.test.p_value == pytest.approx(2 * 0.5 ** 8)  # exact binomial, two-sided
    assert evidence.significant and evidence.verdict == "significant improvement"
    assert (evidence.start_passed, evidence.winner_passed, evidence.units) == (3, 11, 20)
    assert evidence.start_interval.high < evidence.winner_interval.high


def test_a_gain_that_chance_explains_is_refused():
    # five units only the winner passed, none only the start did: p = 0.0625
    evidence = weigh(*table(both=4, start_only=0, winner_only=5, neither=11))
    assert evidence.test.p_value == pytest.approx(0.0625)
    assert not evidence.significant and evidence.verdict == NO_IMPROVEMENT


def test_more_passes_unpaired_are_not_a_gain_when_the_pairs_disagree_both_ways():
    # the winner passes 3 more in all, but 9 units changed each way: p is large
    evidence = weigh(*table(both=2, start_only=6, winner_only=9, neither=3))
    assert evidence.winner_passed - evidence.start_passed == 3
    assert evidence.test.p_value > 0.5 and not evidence.significant


def test_a_significant_loss_is_never_offered():
    evidence = weigh(*table(both=2, start_only=9, winner_only=0, neither=9))
    assert evidence.test.p_value < 0.01
    assert not evidence.significant


def test_the_same_prompt_on_both_sides_is_no_improvement():
    start, _ = table(both=5, start_only=0, winner_only=0, neither=5)
    evidence = weigh(start, start)
    assert evidence.test.p_value == 1.0 and not evidence.significant


def test_unpaired_lists_are_refused():
    with pytest.raises(ValueError, match="one value per unit"):
        weigh([True, False], [True])


def test_evidence_survives_the_store_as_json():
    evidence = weigh(*table(both=3, start_only=1, winner_only=9, neither=7))
    again = Evidence.from_dict(evidence.to_dict())
    assert again.to_dict() == evidence.to_dict()


def outcome(evidence, status=DONE) -> ImproveOutcome:
    job = ImproveJob("s", "v", {}, status=status)
    start = Candidate(job.id, "start", "v", CandidateSettings())
    best = Candidate(job.id, "r1-trial-0", "w", CandidateSettings(examples=("b1",)))
    return ImproveOutcome(job, start, best, evidence, (start, best), Split(0, (), ()),
                          Spent())


def test_the_command_exits_0_only_for_a_significant_winner():
    accepted = outcome(weigh(*table(3, 0, 8, 9)))
    refused = outcome(weigh(*table(4, 0, 5, 11)))
    assert accepted.winner is accepted.best and accepted.exit_code() == 0
    assert refused.winner is None and refused.exit_code() == 100
    assert outcome(weigh(*table(3, 0, 8, 9)), status="cancelled").winner is None
