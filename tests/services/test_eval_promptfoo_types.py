"""promptfoo's assertion types that came with issue 24 and the semantics both tools share:
assert-set, contains-json, is-valid-openai-tools-call, cost, similar (real embeddings of the
bundled model), perplexity and perplexity-score (a real output of the bundled model), weight 0,
threshold 0, CSV shorthand thresholds, ``.txt`` prompt files and empty variables."""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from tests.services.test_compare import make_workspace
from tests.services.test_inspection import Services, spec
from workbench.core.composition import CompositionError, build_messages
from workbench.core.evaluation import Assertion, AssertionResult, combine
from workbench.core.prompts import PromptVersion
from workbench.core.suites import Suite, SuiteError, SuiteTest
from workbench.services.evaluation.assert_set import set_result
from workbench.services.evaluation.checks import CheckContext, check
from workbench.services.evaluation.cost import NOTE as COST_NOTE
from workbench.services.evaluation.differences import promptfoo_notes
from workbench.services.evaluation.evaluator import Evaluator
from workbench.services.evaluation.json_checks import json_objects
from workbench.services.evaluation.perplexity import (
    output_logprobs,
    perplexity_of,
    perplexity_result,
)
from workbench.services.evaluation.similar import Similarity
from workbench.services.evaluation.suite_file import (
    assertion_from_string,
    dump_suite,
    parse_suite,
    without_lines,
)
from workbench.services.evaluation.validation import assertion_problem
from workbench.services.models import ModelService


def run_checks(context: CheckContext):
    return lambda assertion: check(assertion, context)


# -- assert-set ------------------------------------------------------------------------------

CONTEXT = CheckContext("The capital of France is Paris.")
HALF = (Assertion("contains", "Paris"), Assertion("contains", "Berlin"))


def test_an_assert_set_scores_its_own_assertions_and_its_threshold_decides():
    loose = set_result(Assertion("assert-set", threshold=0.5, assertions=HALF),
                       run_checks(CONTEXT))
    assert loose.passed and loose.score == 0.5 and loose.reason == ""
    assert [c.passed for c in loose.children] == [True, False]
    strict = set_result(Assertion("assert-set", threshold=0.6, assertions=HALF),
                        run_checks(CONTEXT))
    assert not strict.passed
    assert strict.reason == "score 0.50 < 0.6 (contains: does not contain 'Berlin')"
    every = set_result(Assertion("assert-set", assertions=HALF), run_checks(CONTEXT))
    assert not every.passed and every.reason == "contains: does not contain 'Berlin'"


def test_a_set_counts_in_its_test_as_one_assertion_of_its_weight():
    # promptfoo's second conformance case: Paris (weight 2) and a failing set of weight 1 whose
    # own score is 0.5: (2·1 + 1·0.5) / 3 = 0.83 reaches the test's threshold 0.6
    group = Assertion("assert-set", weight=1.0,
                      assertions=(Assertion("contains", "Berlin"), Assertion("icontains", "paris")))
    results = [check(Assertion("contains", "Paris", weight=2.0), CONTEXT),
               set_result(group, run_checks(CONTEXT))]
    assert combine(results, threshold=0.6).passed
    assert combine(results, threshold=0.6).score == pytest.approx(2.5 / 3)
    assert not combine(results).passed  # without a threshold the failing set fails the test


def test_weight_zero_passes_inside_a_set_but_a_set_of_weight_zero_is_not_forced():
    metric = Assertion("contains", "Berlin", weight=0.0)
    inner = set_result(Assertion("assert-set", assertions=(Assertion("contains", "Paris"),
                                                           metric)), run_checks(CONTEXT))
    assert inner.passed and inner.score == 1.0  # the metric neither fails nor scores
    assert inner.children[1].passed and inner.children[1].reason == "does not contain 'Berlin'"
    unforced = set_result(Assertion("assert-set", weight=0.0,
                                    assertions=(Assertion("contains", "Berlin"),)),
                          run_checks(CONTEXT))
    verdict = combine([check(Assertion("contains", "Paris"), CONTEXT), unforced])
    assert not verdict.passed and verdict.score == 1.0  # weight 0: not in the score, still fails


def test_a_set_is_read_from_yaml_checked_and_written_back():
    text = """
        prompts: ["Capital of {{country}}?"]
        tests:
          - vars: {country: France}
            assert:
              - type: assert-set
                threshold: 0.5
                weight: 2
                metric: capital
                assert:
                  - {type: icontains, value: paris}
                  - {type: not-contains, value: Berlin, weight: 0}
        """
    suite = parse_suite(textwrap.dedent(text), "suite.yaml")
    (group,) = suite.tests[0].assertions
    assert (group.type, group.threshold, group.weight, group.metric, group.line) == (
        "assert-set", 0.5, 2.0, "capital", 6)
    assert [(a.name, a.weight, a.line) for a in group.assertions] == [
        ("icontains", 1.0, 11), ("not-contains", 0.0, 12)]
    restored = Assertion.from_dict(group.to_dict())  # as a verdict stores it
    assert restored.to_dict() == group.to_dict() and restored.assertions[1].negate
    again = parse_suite(dump_suite(suite), "again.yaml")
    assert without_lines(again).tests == without_lines(suite).tests


@pytest.mark.parametrize("item, problem", [
    ("{type: assert-set}", "an assert-set needs an assert list"),
    ("{type: assert-set, assert: [{type: assert-set, assert: [{type: is-json}]}]}",
     "cannot hold another assert-set"),
    ("{type: assert-set, assert: [{type: select-best, value: better}]}",
     "cannot be in an assert-set"),
    ("{type: assert-set, value: 3, assert: [{type: is-json}]}", "value: not supported"),
    ("{type: assert-set, assert: [{type: regex, value: '('}]}", "does not compile"),
    ("{type: not-assert-set}", "no not- form"),
])
def test_a_set_that_promptfoo_would_not_run_is_named(item, problem):
    found = problems_of_assert(item)
    assert any(problem in line for line in found), found


def problems_of_assert(item: str) -> list[str]:
    text = f"prompts: ['Say {{{{x}}}}']\ntests:\n  - vars: {{x: hi}}\n    assert:\n      - {item}\n"
    with pytest.raises(SuiteError) as raised:
        parse_suite(text, "suite.yaml")
    return [str(problem) for problem in raised.value.problems]


# -- contains-json ---------------------------------------------------------------------------

def test_contains_json_finds_objects_as_promptfoo_0_123_does():
    # braces are counted without regard to quotes, each balanced stretch is read as YAML with
    # // comments as #, an object cut off at the end is closed: all as promptfoo 0.123.1 does
    text = 'Sure:\n```json\n{"a": {"b": [1, 2]}}\n```\nnot {"c": "}"} but {cut: off'
    assert json_objects(text) == [{"a": {"b": [1, 2]}}, {"cut": "off"}]
    assert json_objects('[{"x": 1}, {"y": 2}]') == [{"x": 1}, {"y": 2}]
    assert json_objects('[1, 2] 3 "text"') == []
    assert json_objects('{name: Ann, // her name\n age: 30}') == [{"name": "Ann", "age": 30}]
    assert json_objects("see {url: 'http://x.y'}") == [{"url": "http://x.y"}]
    assert check(Assertion("contains-json"), CheckContext("no json here")).reason == \
        "contains no JSON object"
    negated = check(Assertion.parse("not-contains-json"), CheckContext('x {"a": 1} y'))
    assert not negated.passed and negated.reason == "contains a JSON object"


def test_contains_json_takes_its_schema_as_yaml_text_too():
    schema = "type: object\nrequired: [city]\nproperties: {city: {type: string}}"
    assertion = Assertion("contains-json", schema)
    assert assertion_problem(assertion) is None
    assert check(assertion, CheckContext('{"x": 1} then {"city": "Oslo"}')).passed
    assert not check(assertion, CheckContext('{"city": 3}')).passed
    assert "must be a JSON Schema" in assertion_problem(Assertion("contains-json", "- a list"))
    assert "is invalid" in assertion_problem(Assertion("contains-json", {"type": "nothing"}))


# -- is-valid-openai-tools-call --------------------------------------------------------------

TOOLS = [{"type": "function", "function": {
    "name": "add", "parameters": {"type": "object", "required": ["a", "b"],
                                  "properties": {"a": {"type": "number"},
                                                 "b": {"type": "number"}}}}}]


def call(name: str, arguments: str) -> str:
    return json.dumps({"tool_calls": [{"type": "function",
                                       "function": {"name": name, "arguments": arguments}}]})


@pytest.mark.parametrize("text, passed, reason", [
    (call("add", '{"a": 1, "b": 2}'), True, ""),
    (call("sub", '{"a": 1, "b": 2}'), False, "called 'sub', but there is no tool with that name"),
    (call("add", '{"a": 1}'), False,
     "the call of 'add' does not match its parameters: 'b' is a required property"),
    (call("add", "a=1"), False, "the arguments of 'add' are not JSON: Expecting value: line 1 "
                                "column 1 (char 0)"),
    ('{"name": "add", "arguments": "{}"}', False,
     "not a valid-looking tools call: expected a list of tool calls (or {tool_calls: [...]})"),
    ("I would call add.", False, "not a valid-looking tools call: not JSON (Expecting value: "
                                 "line 1 column 1 (char 0))"),
])
def test_a_tools_call_is_checked_against_the_tools(text, passed, reason):
    result = check(Assertion("is-valid-openai-tools-call", TOOLS), CheckContext(text))
    assert (result.passed, result.reason) == (passed, reason)


def test_without_tools_only_the_calls_shape_is_checked():
    assertion = Assertion("is-valid-openai-tools-call")
    assert check(assertion, CheckContext(call("anything", "{}"))).passed
    assert not check(assertion, CheckContext("[]")).passed
    assert "a list of {type: function" in assertion_problem(
        Assertion("is-valid-openai-tools-call", {"add": {}}))


# -- cost ------------------------------------------------------------------------------------

def test_cost_is_a_no_op_that_says_so_in_both_forms():
    for assertion in (Assertion("cost", threshold=0.01), Assertion.parse("not-cost",
                                                                         threshold=0.01)):
        result = check(assertion, CheckContext("anything"))
        assert (result.passed, result.score, result.reason) == (True, 1.0, COST_NOTE)
    assert "needs a threshold" in assertion_problem(Assertion("cost"))
    assert assertion_problem(Assertion("cost", threshold=0)) is None


# -- similar: real embeddings of the bundled model -------------------------------------------

OUTPUT = "Paris is the capital of France."
PARAPHRASE = "The capital city of France is Paris."
UNRELATED = "Bananas are yellow fruit that grow in bunches."


def own_home(tmp_path_factory) -> pytest.MonkeyPatch:
    """A module-wide fixture's WORKBENCH_HOME (it is made before each test's own)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
    return patch


@pytest.fixture(scope="module")
def similarity(bundled_model, tmp_path_factory):
    home = own_home(tmp_path_factory)
    models = ModelService()  # its paths are read here
    home.undo()
    yield Similarity(models)
    models.close()


def similar(kind: str, value, threshold=None) -> Assertion:
    return Assertion.parse(kind, value=value, threshold=threshold)


def test_a_paraphrase_is_more_similar_than_an_unrelated_text(similarity):
    near = similarity.result(similar("similar", PARAPHRASE, 0.0), OUTPUT).score
    far = similarity.result(similar("similar", UNRELATED, 0.0), OUTPUT).score
    assert 0 < far < near <= 1
    # the score is the cosine of the host's vectors
    host = similarity._embedder(None)
    a, b = (np.asarray(v) for v in host([OUTPUT, PARAPHRASE]))
    assert near == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), abs=1e-5)
    # the threshold decides: between the two, the paraphrase passes and the other fails
    middle = (near + far) / 2
    assert similarity.result(similar("similar", PARAPHRASE, middle), OUTPUT).passed
    failed = similarity.result(similar("similar", UNRELATED, middle), OUTPUT)
    assert not failed.passed and failed.reason == f"cosine similarity {far:.2f} < {middle:g}"
    assert not similarity.result(similar("similar", PARAPHRASE, near + 0.01), OUTPUT).passed
    assert similarity.result(similar("not-similar", UNRELATED, middle), OUTPUT).passed
    negated = similarity.result(similar("not-similar", PARAPHRASE, middle), OUTPUT)
    assert not negated.passed and negated.score == pytest.approx(1 - near)


def test_a_list_passes_on_any_value_and_the_metrics_agree_on_unit_vectors(similarity):
    near = similarity.result(similar("similar", PARAPHRASE, 0.0), OUTPUT).score
    far = similarity.result(similar("similar", UNRELATED, 0.0), OUTPUT).score
    middle = (near + far) / 2
    listed = similarity.result(similar("similar", [UNRELATED, PARAPHRASE], middle), OUTPUT)
    assert listed.passed and listed.score == pytest.approx(near)
    none = similarity.result(similar("similar", [UNRELATED, "Trains run on rails."], 0.999),
                             OUTPUT)
    assert not none.passed and none.reason.startswith("none of 2 values is similar enough")
    # the host's vectors are L2-normalised: dot = cosine, distance = sqrt(2 - 2·cosine)
    dot = similarity.result(similar("similar:dot", PARAPHRASE, 0.0), OUTPUT).score
    assert dot == pytest.approx(near, abs=1e-5)
    distance = math.sqrt(max(0.0, 2 - 2 * near))
    euclid = similarity.result(similar("similar:euclidean", PARAPHRASE, distance + 0.01), OUTPUT)
    assert euclid.passed and euclid.score == pytest.approx(1 / (1 + distance), abs=1e-4)
    assert not similarity.result(similar("similar:euclidean", PARAPHRASE, distance - 0.01),
                                 OUTPUT).passed


def test_a_similar_assertion_with_a_missing_embedding_model_fails_saying_why(similarity):
    result = similarity.result(Assertion("similar", PARAPHRASE, provider="no-such-embedder"),
                               OUTPUT)
    assert not result.passed and "no-such-embedder" in result.reason
    assert "needs a text value" in assertion_problem(Assertion("similar", []))


def test_an_embedding_server_that_does_not_answer_leaves_the_check_undecided(workbench_home):
    """A fault of the embedding model is not the answer's: the check fails in both its forms
    (never a pass) and is undecided, so Improve refuses to score it instead of being steered."""
    from tests.plugins.test_openai_compat_cli import free_port
    from workbench.services.plugins import start_plugins

    models = ModelService()
    start_plugins(models)
    try:
        dead = f"openai+http://127.0.0.1:{free_port()}/v1?model=embedder"
        for kind in ("similar", "not-similar"):
            result = Similarity(models).result(replace(similar(kind, PARAPHRASE), provider=dead),
                                               OUTPUT)
            assert not result.passed and result.undecided, (kind, result)
            assert "could not be embedded" in result.reason and "127.0.0.1" in result.reason
            assert combine([result]).undecided == (result,)
    finally:
        models.close()


# -- perplexity: a real output of the bundled model ------------------------------------------

@pytest.fixture(scope="module")
def generated(bundled_model, tmp_path_factory):
    """Greedy answers of one prompt, once with log-probabilities asked, once without."""
    home = own_home(tmp_path_factory)
    services = Services()  # the store and the models' paths are read here
    home.undo()
    ws, _, v2, cases = make_workspace(services.workspace)
    run, outputs = services.run([spec(v2, "k5", logprobs=5), spec(v2, "plain")], cases, ws,
                                only=1)
    labels = {v.id: v.label for v in run.variants}
    yield services, {labels[o.variant_id]: o for o in outputs}, cases
    services.close()


def test_perplexity_comes_from_the_trace_or_from_scoring_and_they_agree(generated):
    services, outputs, _ = generated
    traced, source = output_logprobs(outputs["k5"], services.inspection)
    assert source == "as generated" and len(traced) == outputs["k5"].token_count
    scored, source = output_logprobs(outputs["plain"], services.inspection)
    assert source == "scored"
    assert outputs["k5"].text == outputs["plain"].text  # greedy: the same answer
    assert perplexity_of(scored) == pytest.approx(perplexity_of(traced), rel=1e-2)
    assert perplexity_of(traced) == pytest.approx(math.exp(-sum(traced) / len(traced)))


def test_the_thresholds_decide_as_in_promptfoo(generated):
    services, outputs, _ = generated
    output = outputs["k5"]
    value = perplexity_of(output_logprobs(output, services.inspection)[0])
    assert value > 1

    def result(kind, threshold=None):
        return perplexity_result(Assertion.parse(kind, threshold=threshold), output,
                                 services.inspection)

    assert (result("perplexity", value * 1.01).passed, result("perplexity", value * 1.01).score) \
        == (True, 1.0)
    low = result("perplexity", value * 0.99)
    assert (low.passed, low.score) == (False, 0.0)
    assert low.reason == f"perplexity {value:.2f} > {value * 0.99:g}"
    assert result("perplexity").passed  # no threshold: promptfoo passes it
    assert not result("perplexity", 0).passed  # 0 is a threshold (promptfoo 0.123.1)
    norm = 1 / (1 + value)
    assert result("perplexity-score", norm - 0.01).passed
    high = result("perplexity-score", norm + 0.01)
    assert not high.passed and high.score == pytest.approx(norm)
    assert result("not-perplexity", value * 0.99).passed


def test_perplexity_inside_an_assert_set_through_the_evaluator(generated):
    services, outputs, cases = generated
    output = outputs["plain"]
    value = perplexity_of(output_logprobs(output, services.inspection)[0])
    group = Assertion("assert-set", threshold=0.5, assertions=(
        Assertion("perplexity", threshold=value * 1.05),
        Assertion("contains", "zzqx")))
    case = replace(cases.cases[0], assertions=(group,))
    verdict = Evaluator(None, None, services.inspection).verdict(output, case, cases)
    (result,) = verdict.results
    assert verdict.passed and result.score == 0.5
    assert [c.passed for c in result.children] == [True, False]


# -- weight 0, threshold 0 -------------------------------------------------------------------

def test_weight_zero_is_recorded_as_passed_and_threshold_zero_is_a_threshold():
    failing = check(Assertion("contains", "Rome", weight=0.0), CONTEXT)
    verdict = combine([check(Assertion("contains", "Paris"), CONTEXT), failing])
    assert verdict.passed and verdict.results[1].passed
    assert verdict.results[1].reason == "does not contain 'Rome'"  # what it found stays
    wrong = AssertionResult(Assertion("contains", "Rome"), False, 0.0, "no")
    assert combine([wrong], threshold=0).passed  # promptfoo 0.123.1: score 0 ≥ 0
    assert not combine([wrong]).passed
    assert combine([check(Assertion("contains", "Paris"), CONTEXT), wrong], threshold=0.5).passed


# -- CSV shorthands, prompt files, empty variables --------------------------------------------

@pytest.mark.parametrize("text, threshold", [
    ("levenshtein: Positiv", 0.75), ("levenshtein(5): Positiv", 5.0),
    ("similar: a greeting", 0.8), ("latency: 500", 0.75), ("perplexity: ", 0.75),
    ("contains: x", None), ("starts-with: x", None),
])
def test_csv_shorthands_get_promptfoos_default_thresholds(text, threshold):
    assert assertion_from_string(text).threshold == threshold


def test_levenshtein_shorthand_without_threshold_allows_no_edit():
    assertion = assertion_from_string("levenshtein: Positiv")
    assert not check(assertion, CheckContext("Positive")).passed
    assert check(assertion, CheckContext("Positiv")).passed
    assert check(assertion_from_string("levenshtein(5): Positiv"), CheckContext("Positive")).passed


def test_a_txt_prompt_is_trimmed_and_split_at_its_delimiter_lines(tmp_path):
    (tmp_path / "one.txt").write_text("\n\n  Capital of {{country}}?  \n\n")
    (tmp_path / "two.txt").write_text("First {{country}}\n---\n\n---\n  Second {{country}}\n")
    (tmp_path / "notes.md").write_text("Keep {{country}} as is\n\n")
    (tmp_path / "suite.yaml").write_text(textwrap.dedent("""
        prompts: [file://one.txt, file://two.txt, file://notes.md]
        tests: [{vars: {country: Peru}}]
        """))
    from workbench.services.evaluation.suite_file import load_suite

    suite = load_suite(tmp_path / "suite.yaml")
    assert [(p.label, p.user_template) for p in suite.prompts] == [
        ("file://one.txt", "Capital of {{country}}?"),
        ("file://two.txt: 1", "First {{country}}"), ("file://two.txt: 2", "Second {{country}}"),
        ("file://notes.md", "Keep {{country}} as is\n\n")]  # promptfoo reads .md as it is
    (tmp_path / "object.yaml").write_text("prompts: [{id: file://two.txt}]\ntests: [{}]\n")
    with pytest.raises(SuiteError, match="holds 2 prompts"):
        load_suite(tmp_path / "object.yaml")


def test_an_empty_variable_renders_empty_and_an_undefined_one_is_refused():
    version = PromptVersion("p", "", (), "{{ extra }}Capital of {{ country }}?")
    messages = build_messages(version, {"country": "Peru", "extra": ""})
    assert messages[-1].content == "Capital of Peru?"
    with pytest.raises(CompositionError, match="'extra', which this test case does not define"):
        build_messages(version, {"country": "Peru"})


def test_the_cases_tables_empty_cells_are_not_values(bundled_model):
    services = Services()
    try:
        ws, _, _, _ = make_workspace(services.workspace)
        saved = services.workspace.save_cases(ws.case_set, [({"country": "", "x": "1"}, None)])
        assert saved.cases[0].variables == {"x": "1"}
    finally:
        services.close()


def test_the_notes_name_each_deliberate_difference_the_suite_meets_once():
    suite = Suite(default_assertions=(Assertion("cost", threshold=1),),
                  tests=(SuiteTest(assertions=(
                      Assertion("assert-set", assertions=(Assertion("similar", "x"),
                                                          Assertion("similar", "y"))),
                      Assertion("contains", "x"))),))
    notes = promptfoo_notes(suite)
    assert len(notes) == 2
    assert notes[0].startswith("similar embeds with the bundled SmolLM2 model")
    assert notes[1].startswith("cost is not measured")
    assert promptfoo_notes(Suite(tests=(SuiteTest(assertions=(
        Assertion("similar", "x", provider="other"),)),))) == []


def test_similar_on_a_remote_server_reads_its_v1_embeddings(similarity, bundled_model, tmp_path):
    from tests.plugins.test_openai_compat_cli import serving
    from workbench.services.plugins import start_plugins

    models = ModelService()
    start_plugins(models)  # the openai+ backend
    try:
        with serving(bundled_model, tmp_path, "--embedding", "True", "--n_ctx", "512") as base:
            remote = Similarity(models)
            provider = f"openai+{base}"
            near = remote.result(Assertion("similar", PARAPHRASE, threshold=0.0,
                                           provider=provider), OUTPUT).score
            far = remote.result(Assertion("similar", UNRELATED, threshold=0.0,
                                          provider=provider), OUTPUT).score
    finally:
        models.close()
    assert far < near
    # the server averages the same model's token vectors as the local host pools them
    local = similarity.result(similar("similar", PARAPHRASE, 0.0), OUTPUT).score
    assert near == pytest.approx(local, abs=0.01)


def test_the_preflight_names_a_missing_embedding_model_where_similar_names_it(similarity):
    from workbench.core.suites import SuitePrompt
    from workbench.services.evaluation.preflight import Preflight

    suite = Suite(prompts=(SuitePrompt("p", "Say {{ word }}", line=2),), source="suite.yaml",
                  tests=(SuiteTest("one", {"word": "hi"}, (Assertion(
                      "assert-set", line=7, assertions=(Assertion(
                          "similar", "hello", provider="no-such-embedder", line=9),)),)),))
    found = [str(p) for p in Preflight(similarity.models).model_notices(suite)]
    assert any(line.startswith("suite.yaml:9: assert: in test \"one\": the embedding model "
                               "'no-such-embedder' cannot be used: ") for line in found), found
