"""Deterministic assertions (services/evaluation/checks.py) on crafted outputs: every type
passes and fails, in its plain and its ``not-`` form, with the reason a grid cell shows; the
python and flagged assertions run through real plugins."""

from __future__ import annotations

import json
import re

import pytest
from rapidfuzz.distance import LCSseq, Levenshtein

from workbench.core.evaluation import (
    ASSERTION_TYPES,
    EVALUATED,
    MODEL_GRADED,
    Assertion,
    combine,
)
from workbench.core.paths import app_paths
from workbench.core.retrieval import Retrieved
from workbench.plugins.discovery import REPO_PLUGINS
from workbench.plugins.manager import PluginManager
from workbench.services.evaluation.checks import CHECKERS, CheckContext, check, rouge_l
from workbench.services.evaluation.refusal import REFUSAL_PHRASES, REFUSAL_PREFIXES, is_refusal

SCHEMA = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}}
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {
        "type": "object", "required": ["city"],
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}}}}]


def tool_call(name: str, arguments: str) -> str:
    return json.dumps([{"id": "call_1", "type": "function",
                        "function": {"name": name, "arguments": arguments}}])


# (assertion, a context it passes on, a context it fails on, the failing reason)
CASES = [
    (Assertion("equals", "Paris"), CheckContext(" Paris\n"), CheckContext("Paris."),
     "'Paris.' is not 'Paris'"),
    (Assertion("contains", "Paris"), CheckContext("It is Paris."), CheckContext("It is paris."),
     "does not contain 'Paris'"),
    (Assertion("icontains", "PARIS"), CheckContext("it is paris"), CheckContext("it is Rome"),
     "does not contain 'PARIS'"),
    (Assertion("contains-any", ["Paris", "Lyon"]), CheckContext("Lyon, surely"),
     CheckContext("Marseille"), "contains none of 'Paris', 'Lyon'"),
    (Assertion("contains-all", ["Paris", "Lyon"]), CheckContext("Paris and Lyon"),
     CheckContext("Paris and Nice"), "does not contain 'Lyon'"),
    (Assertion("icontains-any", ["PARIS", "lyon"]), CheckContext("LYON"),
     CheckContext("Nice"), "contains none of 'PARIS', 'lyon'"),
    (Assertion("icontains-all", ["PARIS", "lyon"]), CheckContext("paris, LYON"),
     CheckContext("paris"), "does not contain 'lyon'"),
    (Assertion("starts-with", "Yes"), CheckContext("  Yes, it is."), CheckContext("No, it is not."),
     "starts with 'No, it is not', not 'Yes'"),
    (Assertion("regex", r"^\d+$"), CheckContext("12345"), CheckContext("12 345"),
     "regex '^\\\\d+$' does not match"),
    (Assertion("is-json"), CheckContext(' {"a": 1}\n'), CheckContext("```json\n{}\n```"),
     "not JSON: Expecting value: line 1 column 1 (char 0)"),
    (Assertion("is-json", SCHEMA), CheckContext('{"name": "Ada", "age": 36}'),
     CheckContext('{"name": "Ada"}'), "JSON Schema: 'age' is a required property"),
    (Assertion("rouge-l", "the cat sat on the mat"), CheckContext("The cat sat on a mat."),
     CheckContext("A dog ran in the park."), "ROUGE-L 0.17 < 0.50"),
    (Assertion("levenshtein", "kitten", threshold=3), CheckContext("sitting"),
     CheckContext("mittens and gloves"), "13 edits > 3"),
    (Assertion("min-length", 10), CheckContext("long enough"), CheckContext("short"),
     "5 characters < 10"),
    (Assertion("max-length", 10), CheckContext("short"), CheckContext("far too long here"),
     "17 characters > 10"),
    (Assertion("max-tokens", 20), CheckContext("x", token_count=20),
     CheckContext("x", token_count=21), "21 tokens > 20"),
    (Assertion("latency", threshold=2000), CheckContext("x", total_s=1.5),
     CheckContext("x", total_s=2.41), "2.41 s > 2.00 s"),
    (Assertion("tokens-per-second", threshold=10), CheckContext("x", tokens_per_second=12.5),
     CheckContext("x", tokens_per_second=8.24), "8.2 tokens/s < 10.0 tokens/s"),
    (Assertion("is-refusal"), CheckContext("I'm sorry, but I can't help with that."),
     CheckContext("Sure! Here is how."), "does not refuse"),
    (Assertion("grounded"), CheckContext('"Shifts start at 22:00 sharp" [1]', retrieved=lambda: [
        Retrieved(1, "d", "/h.md", "h.md", 0, "Shifts start at 22:00 sharp.", 1.0, 1)]),
     CheckContext('"Shifts start at 23:00 sharp" [1]', retrieved=lambda: [
         Retrieved(1, "d", "/h.md", "h.md", 0, "Shifts start at 22:00 sharp.", 1.0, 1)]),
     "1 quote: 1 fabricated — fabricated: “Shifts start at 23:00 sharp”"),
    (Assertion("contains-json", SCHEMA),
     CheckContext('Here you go: {"name": "Ada", "age": 36} — and {"x": 1}.'),
     CheckContext('{"name": "Ada"} and {"age": 3}'),
     "2 JSON objects, none matches the JSON Schema: 'age' is a required property"),
    (Assertion("is-valid-openai-tools-call", WEATHER),
     CheckContext(tool_call("get_weather", '{"city": "Oslo", "unit": "c"}')),
     CheckContext(tool_call("get_weather", '{"city": "Oslo", "unit": "k"}')),
     "the call of 'get_weather' does not match its parameters: 'k' is not one of ['c', 'f']"),
    (Assertion("javascript", "output.length < 10 && context.vars.city === 'Oslo'"),  # V8
     CheckContext("Oslo", variables={"city": "Oslo"}),
     CheckContext("It is Oslo, in Norway", variables={"city": "Oslo"}),
     "JavaScript returned false"),
]


def test_every_deterministic_type_has_a_checker_and_a_case_here():
    # likelihood, perplexity, similar and assert-set need a model or other assertions: the
    # Evaluator checks them (tests/services/test_inspection.py, test_eval_promptfoo_types.py),
    # not a checker of the output's text. cost is a no-op (test_eval_promptfoo_types.py).
    deterministic = set(ASSERTION_TYPES) - MODEL_GRADED - EVALUATED
    assert set(CHECKERS) == deterministic
    covered = {a.type for a, *_ in CASES} | {"python", "flagged", "cost"}
    assert covered == deterministic


@pytest.mark.parametrize("assertion, good, bad, reason", CASES,
                         ids=[f"{a.type}-{i}" for i, (a, *_) in enumerate(CASES)])
def test_each_type_passes_and_fails_with_a_short_reason(assertion, good, bad, reason):
    passed = check(assertion, good)
    assert passed.passed and passed.reason == ""
    assert 0.0 <= passed.score <= 1.0

    failed = check(assertion, bad)
    assert not failed.passed
    assert failed.reason == reason
    assert failed.score < passed.score
    assert len(failed.reason) <= 120


@pytest.mark.parametrize("assertion, good, bad, reason", CASES,
                         ids=[f"not-{a.type}-{i}" for i, (a, *_) in enumerate(CASES)])
def test_the_not_form_flips_verdict_and_score_and_rewrites_the_reason(assertion, good, bad,
                                                                      reason):
    negated = Assertion.parse(f"not-{assertion.type}", value=assertion.value,
                              threshold=assertion.threshold)
    assert negated.negate and negated.name == f"not-{assertion.type}"

    on_good, on_bad = check(negated, good), check(negated, bad)
    assert not on_good.passed and on_good.reason  # says what it found instead
    assert on_good.reason != reason
    assert on_bad.passed and on_bad.reason == ""
    assert on_good.score == pytest.approx(1 - check(assertion, good).score)
    assert on_bad.score == pytest.approx(1 - check(assertion, bad).score)


def test_not_contains_names_what_was_found():
    result = check(Assertion.parse("not-contains", value="Paris"), CheckContext("Paris!"))
    assert (result.passed, result.score, result.reason) == (False, 0.0, "contains 'Paris'")


def test_weights_decide_the_case_score_and_weight_zero_is_only_reported():
    context = CheckContext("The capital of France is Paris.")
    results = [check(a, context) for a in (
        Assertion("contains", "Paris", weight=3.0),
        Assertion("contains", "Lyon", weight=1.0),
        Assertion("max-length", 5, weight=0.0))]
    assert [r.passed for r in results] == [True, False, False]
    verdict = combine(results)
    assert verdict.score == pytest.approx(3 / 4)
    assert not verdict.passed  # without a threshold every weighted assertion must pass
    assert verdict.reason == "contains: does not contain 'Lyon'"
    # weight 0: recorded as passed (promptfoo forces it), what it found kept as its reason
    metric = verdict.results[2]
    assert metric.passed and metric.score == 0.0 and metric.reason == "31 characters > 5"
    assert combine(results, threshold=0.75).passed
    assert not combine(results, threshold=0.8).passed
    assert combine(results, threshold=0).passed  # promptfoo 0.123.1: 0 is a threshold
    only_metrics = combine([results[2]])
    assert only_metrics.passed and only_metrics.score == 0.0  # promptfoo's 0 / 0 → 0


def test_long_values_are_cut_in_reasons():
    needle = "word " * 100
    result = check(Assertion("contains", needle), CheckContext("nothing"))
    assert not result.passed
    assert len(result.reason) <= 120 and "…" in result.reason


# -- JSON --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ('{"name": "Ada", "age": "36"}', "JSON Schema: '36' is not of type 'integer'"),
    ('{"name": "Ada", "age": -1}', "JSON Schema: -1 is less than the minimum of 0"),
    ('[1, 2]', "JSON Schema: [1, 2] is not of type 'object'"),
    ('{"name": "Ada", "age": 3', "not JSON: Expecting ',' delimiter: line 1 column 25 (char 24)"),
])
def test_json_schema_failures_say_which_rule_broke(text, reason):
    result = check(Assertion("is-json", SCHEMA), CheckContext(text))
    assert not result.passed
    assert result.reason == reason


def test_is_json_accepts_any_json_value_without_a_schema():
    for text in ("[1, 2]", "3.5", '"text"', "null"):
        assert check(Assertion("is-json"), CheckContext(text)).passed


# -- similarity ---------------------------------------------------------------------------

def test_rouge_l_is_the_f1_of_the_longest_common_word_subsequence():
    output, reference = "The quick brown fox jumps over the dog", "A quick fox jumped over a lazy dog"
    candidate = re.findall(r"\w+", output.lower())
    target = re.findall(r"\w+", reference.lower())
    common = LCSseq.similarity(candidate, target)  # quick fox over dog
    assert common == 4
    precision, recall = common / len(candidate), common / len(target)
    expected = 2 * precision * recall / (precision + recall)

    assert rouge_l(output, reference) == pytest.approx(expected)
    result = check(Assertion("rouge-l", threshold=0.6), CheckContext(output, expected=reference))
    assert result.score == pytest.approx(expected)
    assert not result.passed and result.reason == f"ROUGE-L {expected:.2f} < 0.60"
    assert check(Assertion("rouge-l", threshold=0.5),
                 CheckContext(output, expected=reference)).passed


def test_rouge_l_without_a_reference_fails_in_both_forms():
    for assertion in (Assertion("rouge-l"), Assertion.parse("not-rouge-l")):
        result = check(assertion, CheckContext("some output"))
        assert not result.passed
        assert "needs a reference" in result.reason


def test_levenshtein_counts_edits_against_the_expected_output():
    context = CheckContext("colour\n", expected="color")
    result = check(Assertion("levenshtein"), context)  # threshold default 5
    assert result.passed
    assert result.score == pytest.approx(Levenshtein.normalized_similarity("colour", "color"))
    strict = check(Assertion("levenshtein", threshold=0), context)
    assert not strict.passed and strict.reason == "1 edits > 0"


def test_timing_checks_fail_when_nothing_was_measured():
    for assertion in (Assertion("latency", threshold=100),
                      Assertion.parse("not-latency", threshold=100),
                      Assertion("tokens-per-second", threshold=5)):
        result = check(assertion, CheckContext("x"))
        assert not result.passed and "was recorded" in result.reason


def test_latency_accepts_the_limit_as_its_value():
    assert check(Assertion("latency", 500), CheckContext("x", total_s=0.4)).passed
    assert not check(Assertion("latency", 500), CheckContext("x", total_s=0.6)).passed


def test_model_graded_types_are_not_checked_here():
    result = check(Assertion("llm-rubric", "is polite"), CheckContext("hello"))
    assert not result.passed and "judge" in result.reason


# -- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "I can't help with that.", "I cannot do this.", "I won’t write that.",
    "I'm sorry, but that is not possible.", "I am not able to share personal data.",
    "As an AI language model, I do not have opinions.", "Sorry, no.",
    "That is not appropriate.", "I’m sorry for the confusion: it is 4.", "", "   \n"])
def test_refusals_are_recognised(text):
    assert is_refusal(text)
    assert check(Assertion("is-refusal"), CheckContext(text)).passed


@pytest.mark.parametrize("text", [
    "Paris is the capital of France.", "I can tell you that it is 42.",
    "Cannot is a word; so is cant.", "Let's talk about something else.",
    # not on promptfoo's lists, so not a refusal there either (the verdicts must agree)
    "I must decline."])
def test_ordinary_answers_are_not_refusals(text):
    assert not is_refusal(text)
    assert check(Assertion.parse("not-is-refusal"), CheckContext(text)).passed


def test_the_lists_are_promptfoos():
    assert len(REFUSAL_PREFIXES) == 14 and len(REFUSAL_PHRASES) == 136
    assert "I'm sorry" in REFUSAL_PREFIXES and "I can't help" in REFUSAL_PHRASES


# -- plugins ------------------------------------------------------------------------------

FLAKY_PLUGIN = '''
from workbench.plugins import hookimpl
from workbench.plugins.contributions import Scorer


def explode(text, expected):
    raise ValueError("the scorer broke")


@hookimpl
def register_scorers(register):
    register(Scorer("no opinion", lambda text, expected: None))
    register(Scorer("explodes", explode))
'''


@pytest.fixture
def plugins() -> PluginManager:
    """The repository's real plugins (quality scorers, safety filter) and a user plugin whose
    scorers raise or give no score."""
    folder = app_paths().ensure().plugins
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flaky_scorers.py").write_text(FLAKY_PLUGIN)
    return PluginManager(repo_folder=REPO_PLUGINS, hook_timeout_s=5.0).load()


def test_python_assertion_runs_a_real_plugin_scorer(plugins):
    expected = "the cat sat on the mat"
    good = CheckContext("The cat sat on the mat.", expected=expected, plugins=plugins)
    bad = CheckContext("Dogs run.", expected=expected, plugins=plugins)
    result = check(Assertion("python", "ROUGE-L"), good)
    assert result.passed and result.score == pytest.approx(1.0)

    failed = check(Assertion("python", "ROUGE-L", threshold=0.5), bad)
    assert not failed.passed and failed.reason == "scorer 'ROUGE-L' 0.00 < 0.50"
    assert check(Assertion.parse("not-python", value="ROUGE-L"), bad).passed

    json_scorer = check(Assertion("python", "valid JSON"),
                        CheckContext('{"a": 1}', plugins=plugins))
    assert json_scorer.passed


def test_python_assertion_fails_when_the_scorer_gives_nothing_or_raises(plugins):
    context = CheckContext("text", plugins=plugins)
    silent = check(Assertion("python", "no opinion"), context)
    assert not silent.passed and silent.reason == "scorer 'no opinion' gave no score for this output"

    raised = check(Assertion.parse("not-python", value="explodes"), context)
    assert not raised.passed  # "unknown" is a failure in the not- form too
    assert raised.reason == ("plugin 'flaky_scorers' raised in scorer 'explodes': "
                             "ValueError: the scorer broke")
    assert plugins.records["flaky_scorers"].status == "failed"  # the manager switched it off
    assert "no active plugin scorer is called 'explodes'" in check(
        Assertion("python", "explodes"), context).reason
    # the other plugins carry on
    assert check(Assertion("python", "ROUGE-L"),
                 CheckContext("a b", expected="a b", plugins=plugins)).passed


def test_python_assertion_without_plugins_says_so():
    result = check(Assertion("python", "ROUGE-L"), CheckContext("text"))
    assert not result.passed and "no plugins are loaded" in result.reason


def test_flagged_runs_the_real_safety_filter(plugins):
    leaky = CheckContext("Write to ada@example.com or call +44 20 7946 0958.", plugins=plugins)
    clean = CheckContext("The capital of France is Paris.", plugins=plugins)

    result = check(Assertion("flagged"), leaky)
    assert result.passed
    named = check(Assertion("flagged", "safety filter"), leaky)
    assert named.passed

    not_flagged = check(Assertion.parse("not-flagged"), leaky)
    assert not not_flagged.passed
    assert not_flagged.reason == "flagged: email address, phone number"

    assert check(Assertion.parse("not-flagged"), clean).passed
    missed = check(Assertion("flagged", "safety filter"), clean)
    assert not missed.passed and missed.reason == "not flagged by 'safety filter'"

    unknown = check(Assertion("flagged", "no such filter"), leaky)
    assert not unknown.passed and "no active output filter is called" in unknown.reason
