"""Check values are templates over the case's variables (promptfoo renders an assertion's value
with nunjucks over the test's vars): an every-case ``icontains: {{ expected }}`` checks each
case against its own answer; a value that cannot be rendered for a case is named before the
run — check and case in the window, file:line and test in a suite — and fails (never passes)
if it is checked anyway."""

from __future__ import annotations

import textwrap

import pytest

from workbench.core.cases import CaseSet, TestCase
from workbench.core.errors import WorkbenchError
from workbench.core.evaluation import Assertion
from workbench.core.runs import Output
from workbench.core.suites import Suite, SuitePrompt, SuiteTest
from workbench.services.evaluation.evaluator import Evaluator
from workbench.services.evaluation.preflight import case_value_problems, value_problems

EVERY_CASE = Assertion("icontains", "{{ expected }}")


def case(number: int, variables: dict, expected: str | None = None, *assertions) -> TestCase:
    return TestCase("set", variables, expected, position=number - 1, id=f"case-{number}",
                    assertions=tuple(assertions))


def answer(text: str, of: TestCase) -> Output:
    return Output("run", "variant", of.id, text=text, finish_reason="stop")


def test_an_every_case_value_is_rendered_for_each_case():
    spain = case(1, {"country": "Spain"}, "Madrid")
    peru = case(2, {"country": "Peru"}, "Lima",
                Assertion("icontains-any", ["{{ country }}", "capital of {{ country | lower }}"]))
    cases = CaseSet("session", "capitals", (spain, peru), default_assertions=(EVERY_CASE,))
    evaluator = Evaluator(None, None)
    passed = evaluator.verdict(answer("The capital is madrid.", spain), spain, cases)
    assert passed.passed, passed.reason
    failed = evaluator.verdict(answer("It is Cusco, in peru", peru), peru, cases)
    every, own = failed.results
    assert (every.passed, every.reason) == (False, "does not contain 'Lima'")  # Lima, not {{
    assert own.passed  # "peru" matches "{{ country }}" = "Peru", ignoring case
    # the result keeps the check as written: one row per check in the per-assertion table
    assert every.assertion == EVERY_CASE and own.assertion.value[0] == "{{ country }}"


def test_a_value_that_cannot_be_rendered_fails_its_check_saying_why():
    no_answer = case(1, {"country": "Chile"})
    cases = CaseSet("session", "capitals", (no_answer,), default_assertions=(
        EVERY_CASE, Assertion("contains", "{{ expected }}", negate=True)))
    verdict = Evaluator(None, None).verdict(answer("Santiago", no_answer), no_answer, cases)
    assert not verdict.passed
    for result in verdict.results:  # in both forms: "unknown" is never a pass
        assert not result.passed
        assert result.reason == ("its value '{{ expected }}' cannot be rendered: 'expected' "
                                 "is undefined")


def test_the_windows_preflight_names_the_check_and_the_cases():
    leftover = Assertion("contains", "{{ hint }}")
    cases = CaseSet("session", "capitals", (
        case(1, {"country": "Spain"}, "Madrid"),
        case(2, {"country": "Peru"}),
        case(3, {"country": "Chile"}),
        case(4, {"country": "Fiji", "hint": "{{ Suva }}"}, "Suva", leftover)),
        default_assertions=(EVERY_CASE,))
    assert case_value_problems(cases) == [
        "The every-case check 'icontains' cannot run on cases 2, 3: its value "
        "'{{ expected }}' cannot be rendered: 'expected' is undefined.",
        "The case's own check 'contains' cannot run on case 4: its value '{{ hint }}' still "
        "holds '{{' after rendering ('{{ Suva }}'), so it would be checked literally."]
    assert case_value_problems(CaseSet("session", "fine", (case(1, {}, "Paris"),),
                                       default_assertions=(EVERY_CASE,))) == []


def test_the_suite_preflight_names_file_line_and_test(tmp_path):
    from workbench.services.evaluation.suite_file import read_suite

    path = tmp_path / "capitals.yaml"
    path.write_text(textwrap.dedent("""\
        prompts: ["Capital of {{country}}?"]
        providers: [smollm2]
        defaultTest:
          assert:
            - type: icontains
              value: "{{ expected }}"
        tests:
          - description: spain
            vars: {country: Spain}
            expected: Madrid
          - description: peru
            vars: {country: Peru}
            assert:
              - type: contains-any
                value: ["{{ country }}", "{{ capital }}"]
          - vars: {country: Chile}
        """))
    suite, problems = read_suite(path)
    assert problems == []
    found = [f"{p.source}:{p.line}: {p.message}" for p in value_problems(suite)]
    assert found == [
        f"{path}:14: in test \"peru\": contains-any: its value '{{{{ capital }}}}' cannot be "
        "rendered: 'capital' is undefined",
        f"{path}:5: in defaultTest: icontains: its value '{{{{ expected }}}}' cannot be "
        "rendered: 'expected' is undefined — in tests \"peru\", 3"]


@pytest.mark.parametrize(("kind", "value"), [("contains", "{{ expected }}"),
                                           ("contains-any", ["{{ expected }}", "x"])])
def test_a_suite_value_renders_with_the_tests_vars_and_expected(kind, value):
    suite = Suite(prompts=(SuitePrompt("p", "{{ x }}"),),
                  tests=(SuiteTest("a", {"x": "1", "expected": "from vars"}, expected="other"),
                         SuiteTest("b", {"x": "2"}, expected="Lima")),
                  default_assertions=(Assertion(kind, value, line=4),))
    assert value_problems(suite) == []  # a variable named expected wins over the key


def test_a_run_refuses_before_generating(tmp_path):
    """EvalService.check_cases is what the window's Run calls first: one error, every check."""
    from workbench.services.compare import RunService
    from workbench.services.evaluation.eval_service import EvalService
    from workbench.services.models import ModelService
    from workbench.services.sessions import open_store

    store = open_store()
    models = ModelService(store=store)
    try:
        service = EvalService(store, models, RunService(store, models))
        cases = CaseSet("session", "capitals", (case(1, {"country": "Peru"}),),
                        default_assertions=(EVERY_CASE,))
        with pytest.raises(WorkbenchError) as refused:
            service.check_cases(cases)
        assert str(refused.value) == (
            "Nothing was run. The every-case check 'icontains' cannot run on case 1: its "
            "value '{{ expected }}' cannot be rendered: 'expected' is undefined.")
    finally:
        models.close()
        store.close()


def test_a_templated_value_is_validated_once_rendered():
    """As written, ``output.length <= {{ limit }}`` is no JavaScript and ``^{{ start }}`` may be
    no regex: each is checked as each test renders it (promptfoo renders before it runs)."""
    from workbench.services.evaluation.validation import assertion_problem

    code = Assertion("javascript", "output.length <= {{ limit }}", line=6)
    pattern = Assertion("regex", "^{{ start }}", line=7)
    assert assertion_problem(code) is None and assertion_problem(pattern) is None
    suite = Suite(prompts=(SuitePrompt("p", "{{ x }}"),),
                  tests=(SuiteTest("short", {"x": "1", "limit": "12", "start": "Par"}),
                         SuiteTest("broken", {"x": "2", "limit": "12", "start": "(Lim"})),
                  default_assertions=(code, pattern), source="s.yaml")
    assert [(p.line, p.message) for p in value_problems(suite)] == [
        (7, "in defaultTest: regex: once rendered, regex '^(Lim' does not compile: missing ), "
            "unterminated subpattern at position 1 — in test \"broken\"")]
    short = TestCase("set", {"limit": "12", "start": "Par"}, id="short")
    cases = CaseSet("session", "s", (short,), default_assertions=(code, pattern))
    verdict = Evaluator(None, None).verdict(answer("Paris", short), short, cases)
    assert verdict.passed, verdict.reason
    assert not Evaluator(None, None).verdict(answer("Paris is the capital city", short), short,
                                             cases).passed  # 25 characters > 12
