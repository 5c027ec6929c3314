"""The first-party plugins in plugins/: safety filter and quality scorers."""

from __future__ import annotations

import json

import pytest

from workbench.core.paths import app_paths
from workbench.plugins.manager import PluginManager


@pytest.fixture
def repo_manager():
    return PluginManager().load()


def reasons(manager, text):
    return [f.reason for f in manager.check_output(text)]


def test_safety_filter_finds_pii(repo_manager):
    assert reasons(repo_manager, "Write to ana.lopez@example.org today") == ["email address"]
    assert reasons(repo_manager, "Call +44 20 7946 0958 now") == ["phone number"]
    assert reasons(repo_manager, "Card 4111 1111 1111 1111, thanks") == ["payment card number"]
    assert reasons(repo_manager, "Card 4111 1111 1111 1112 is not valid") == []  # Luhn fails
    assert reasons(repo_manager, "The year 2024 had 365 days.") == []


def test_safety_filter_words_and_patterns_from_config(repo_manager):
    config = app_paths().ensure().config / "safety_filter.json"
    config.write_text(json.dumps({"words": ["confidential"], "patterns": [r"(?i)password\s*:"],
                                  "pii": False}))
    found = repo_manager.check_output("CONFIDENTIAL memo. Password: hunter2. a@b.co")
    assert [f.reason for f in found] == ["blocked word 'confidential'",
                                        "matches /(?i)password\\s*:/"]
    assert (found[0].start, found[0].end) == (0, 12)


def test_quality_scorers(repo_manager):
    scores = {s.scorer: s.value for s in repo_manager.scores(
        "the cat sat on the mat", "the cat is on the mat")}
    assert scores["ROUGE-L"] == pytest.approx(2 * (5 / 6) * (5 / 6) / (5 / 6 + 5 / 6))
    assert scores["exact match"] == 0.0 and scores["contains expected"] == 0.0
    assert {s.scorer: s.value for s in repo_manager.scores('```json\n{"a": 1}\n```', None)}[
        "valid JSON"] == 1.0
    assert {s.scorer: s.value for s in repo_manager.scores("{a: 1}", None)}["valid JSON"] == 0.0
    # prose is not judged as JSON, unless JSON was expected
    assert {s.scorer: s.value for s in repo_manager.scores("Paris.", None)}["valid JSON"] is None
    assert {s.scorer: s.value for s in repo_manager.scores("Paris.", '{"city": "Paris"}')}[
        "valid JSON"] == 0.0


def test_the_safety_filters_word_list_is_a_setting_that_applies_at_once(repo_manager):
    manager = repo_manager
    (words,) = manager.settings_of("safety_filter")
    assert words.load() == []
    assert manager.check_output("a banana split") == []
    words.save(["banana", "  ", "kiwi "])
    assert words.load() == ["banana", "kiwi"]  # blanks dropped, spaces trimmed
    assert [f.reason for f in manager.check_output("a banana split")] == ["blocked word 'banana'"]


def test_the_rouge_l_score_and_the_rouge_l_check_are_one_measure(repo_manager):
    """The quality scorers plugin and the evaluation checks measure with one implementation
    (core/text_metrics.py), so a cell's score and its check never disagree."""
    from workbench.core.evaluation import Assertion
    from workbench.services.evaluation.checks import CheckContext, check

    output, reference = "The quick brown fox jumps over the dog", "A quick fox jumped over a dog"
    scores = {s.scorer: s.value for s in repo_manager.scores(output, reference)}
    checked = check(Assertion("rouge-l"), CheckContext(output, expected=reference))
    assert scores["ROUGE-L"] == checked.score and 0 < checked.score < 1
    for text in ('{"a": 1}', "{a: 1}"):
        valid = {s.scorer: s.value for s in repo_manager.scores(text, None)}["valid JSON"]
        assert bool(valid) is check(Assertion("is-json"), CheckContext(text)).passed
