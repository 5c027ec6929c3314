"""promptfoo's JavaScript in the real sandbox (V8 through mini-racer, in its own process): the
forms of a javascript check, what it sees, its failures (a throw, the time and memory limits,
a syntax error, a result of the wrong kind), that it reaches no file, process or network and
leaves nothing for the next call, and the transforms."""

from __future__ import annotations

import threading
from textwrap import dedent

import pytest

from workbench.core.cases import CaseSet, TestCase
from workbench.core.errors import WorkbenchError
from workbench.core.evaluation import Assertion
from workbench.services.evaluation import javascript
from workbench.services.evaluation.checks import CheckContext, check
from workbench.services.evaluation.suite_file import dump_suite, parse_suite, without_lines
from workbench.services.evaluation.validation import assertion_problem
from workbench.store import Store

VARS = {"country": "France"}
PROMPT = "What is the capital of France? Answer in one word."


def run_check(code, output="Paris", threshold=None, negate=False, value=None):
    assertion = Assertion("javascript", code, negate=negate, threshold=threshold)
    return check(assertion, CheckContext(output, variables=VARS, prompt=PROMPT, value=value))


# -- the forms ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, passed, score", [
    ("output.length < 20", True, 1.0),  # an expression
    ("output.length < 2", False, 0.0),
    ("output === 'Paris';", True, 1.0),  # a trailing semicolon
    ("const n = output.length; n === 5", True, 1.0),  # a declaration, then the expression
    ("const s = 'a;b'; s === 'a;b'", True, 1.0),  # a semicolon inside a string
    ("const words = output.split(' ');\nif (words.length > 3) {\n  return false;\n}\n"
     "return true;\n", True, 1.0),  # a body with return
    ("output.length / 10", True, 0.5),  # a number: passes above 0, and is the score
    ("0", False, 0.0),
    ("{pass: true, score: 0.25, reason: 'fine'}", True, 0.25),  # a GradingResult
    ("const r = {pass: false, score: 0.5, reason: 'too ' + 'short'};\nreturn r;", False, 0.5),
])
def test_a_check_returns_a_boolean_a_number_or_a_grading_result(code, passed, score):
    result = run_check(code)
    assert (result.passed, result.score) == (passed, score), result.reason


def test_a_number_is_held_to_the_threshold_when_there_is_one():
    assert run_check("0.6", threshold=0.5).passed
    below = run_check("0.4", threshold=0.5)
    assert not below.passed and below.reason == "JavaScript returned 0.4 < 0.5"
    assert below.score == 0.4


def test_a_grading_result_gives_its_reason_and_the_not_form_inverts():
    failed = run_check("const why = 'no capital';\nreturn {pass: false, score: 0, reason: why};")
    assert failed.reason == "no capital"
    assert run_check("output.length > 100", negate=True).passed
    said = run_check("output.length < 100", negate=True)
    assert not said.passed and said.reason == "JavaScript returned true"


def test_a_check_sees_the_vars_and_the_prompt_as_promptfoo_gives_them():
    assert run_check("context.vars.country === 'France'").passed
    assert run_check(f"context.prompt === {PROMPT!r}").passed
    assert run_check("context.test.vars.country === 'France'").passed


def test_a_transformed_output_reaches_a_check_as_the_value_it_is():
    result = run_check("output.answer === 'Paris' && output.n === 2", output='{"answer": …}',
                       value={"answer": "Paris", "n": 2})
    assert result.passed, result.reason


# -- failures --------------------------------------------------------------------------------

def test_a_throw_fails_with_its_message_and_line():
    result = run_check("const parsed = JSON.parse(output);\nreturn parsed.answer;")
    assert not result.passed and result.score == 0
    assert result.reason.startswith("JavaScript threw SyntaxError: Unexpected token")
    assert result.reason.endswith("(line 1)")
    thrown = run_check("function f() {\n  throw new Error('no answer here');\n}\nreturn f();")
    assert thrown.reason == "JavaScript threw Error: no answer here (line 2)"
    # an unusable check fails in its not- form too ("unknown" is never a pass)
    assert not run_check("null.x", negate=True).passed


def test_an_endless_loop_stops_at_the_time_limit_and_the_next_check_still_runs():
    result = run_check("while (true) {}\nreturn true;")
    assert not result.passed
    assert result.reason == ("JavaScript took more than 1 s of CPU (the limit of one JavaScript "
                             "call) and was stopped")
    assert run_check("output.length < 20").passed


@pytest.mark.parametrize("code", [
    "const a = [];\nwhile (true) a.push(new Array(1e6).fill(1));",  # the heap, step by step
    "new Array(2 ** 28).fill(0).length > 0",  # one allocation V8 cannot survive
    "'x'.repeat(2 ** 28).split('').length > 0",
])
def test_a_huge_allocation_stops_at_the_memory_limit_and_the_process_survives(code):
    result = run_check(code)
    assert not result.passed
    assert "memory" in result.reason or "CPU" in result.reason, result.reason
    assert run_check("output.length < 20").passed


def test_memory_outside_the_heap_is_not_there():
    result = run_check("new Uint8Array(2 ** 29).fill(1).length > 0")
    assert result.reason == "JavaScript threw ReferenceError: Uint8Array is not defined (line 1)"
    assert run_check("[typeof ArrayBuffer, typeof SharedArrayBuffer, typeof WebAssembly, "
                     "typeof setTimeout].every(t => t === 'undefined')").passed


def test_no_file_process_or_network_is_reachable(tmp_path):
    marker = tmp_path / "written.txt"
    attempts = {
        f"require('fs').writeFileSync({str(marker)!r}, 'x')": "require is not defined",
        "process.exit(1)": "process is not defined",
        "fetch('http://127.0.0.1:9/')": "fetch is not defined",
        "import('fs').then(() => true)": "Not supported",
        "new XMLHttpRequest()": "XMLHttpRequest is not defined",
    }
    for code, why in attempts.items():
        result = run_check(code)
        assert not result.passed and why in result.reason, (code, result.reason)
    assert not marker.exists()
    assert run_check("console.log('nothing'), true").passed  # console is quiet, not missing


def test_a_call_leaves_nothing_for_the_next():
    assert run_check("globalThis.leaked = 1; Array.prototype.includes = () => false; true")
    assert run_check("typeof leaked === 'undefined' && [1].includes(1)").passed


@pytest.mark.parametrize("code, why", [
    ("'Paris'", 'a string ("Paris")'),
    ("const x = 1;\nx + 1;", "undefined (several lines need a return)"),
    ("NaN", "a number that is not finite"),
    ("{pass: true, score: 1}", 'an object ({"pass": true, "score": 1})'),  # no reason
])
def test_a_result_of_the_wrong_kind_fails_saying_what_it_was(code, why):
    result = run_check(code)
    assert not result.passed
    assert result.reason == f"JavaScript returned {why}, not a boolean, number or {{pass, " \
                            "score, reason}", result.reason


def test_checks_on_several_threads_at_once_each_get_their_answer():
    answers: dict[int, bool] = {}

    def one(number: int) -> None:
        result = check(Assertion("javascript", f"context.vars.n === {number}"),
                       CheckContext("x", variables={"n": number}))
        answers[number] = result.passed

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == dict.fromkeys(range(6), True)


# -- before anything runs ----------------------------------------------------------------------

def test_a_syntax_error_is_found_up_front_with_its_line():
    problem = assertion_problem(Assertion("javascript", "const n = output.length;\nreturn n >;"))
    assert problem == "javascript does not compile: SyntaxError: Unexpected token ';' (line 2)"
    one_line = assertion_problem(Assertion("javascript", "return output.length > 3"))
    assert one_line.endswith("one line is an expression (promptfoo adds the return): drop it")
    assert assertion_problem(Assertion("javascript", "")).startswith("javascript needs code")
    assert "file:// modules are not loaded" in assertion_problem(
        Assertion("javascript", "file://check.js"))
    assert assertion_problem(Assertion("contains", "x", transform="output.trim(")).startswith(
        "transform does not compile: SyntaxError")


def test_python_checks_stay_plugin_scorers_and_the_refusal_says_why():
    problem = assertion_problem(Assertion("python", "file://check.py"))
    assert "Python code in a suite is not run, it would run with the app's full rights " \
           "(javascript checks run in a sandbox with no I/O)" in problem


# -- transforms --------------------------------------------------------------------------------

def test_an_output_transform_gives_any_json_value_or_says_why_not():
    assert javascript.transform_output("output.trim().toUpperCase()", "  paris ", VARS,
                                       {}) == "PARIS"
    assert javascript.transform_output("({text: output, who: context.vars.country})", "x",
                                       VARS, {}) == {"text": "x", "who": "France"}
    with pytest.raises(WorkbenchError, match=r"options.transform threw TypeError: .* \(line 2\)"):
        javascript.transform_output("const x = null;\nreturn x.y;", "x", VARS, {})
    with pytest.raises(WorkbenchError, match="returned undefined"):
        javascript.transform_output("output.trim()\n", "x", VARS, {})  # several lines: no return


def test_transform_vars_merges_what_it_returns_once_per_case_and_run():
    case = TestCase("set", {"country": "France"},
                    options={"transformVars": "({upper: vars.country.toUpperCase(), "
                                              "id: context.uuid, n: 3})"})
    variables = javascript.CaseVariables()
    first = variables.of(case)
    assert first["country"] == "France" and first["upper"] == "FRANCE" and first["n"] == "3"
    assert variables.of(case)["id"] == first["id"]  # every cell of the case: one uuid
    assert javascript.CaseVariables().of(case)["id"] != first["id"]  # another run: another
    plain = TestCase("set", {"a": "b"})
    assert variables.of(plain) is plain.variables
    broken = TestCase("set", {}, options={"transformVars": "vars.nope.length"})
    with pytest.raises(WorkbenchError, match="The test's transformVars threw TypeError"):
        variables.of(broken)


def test_a_suite_reads_checks_options_and_transforms_and_writes_them_back():
    text = dedent("""
        prompts: ["Capital of {{country}}? {{upper}}"]
        defaultTest:
          options:
            transformVars: "({upper: vars.country.toUpperCase()})"
        tests:
          - vars: {country: France}
            options:
              transform: output.trim()
            assert:
              - type: javascript
                value: |
                  const n = output.length;
                  return n < 20;
              - type: contains
                value: PARIS
                transform: output.toUpperCase()
        """)
    suite = parse_suite(text)
    assert suite.default_options == {"transformVars": "({upper: vars.country.toUpperCase()})"}
    (test,) = suite.tests
    assert test.options == {"transform": "output.trim()"}
    assert test.assertions[1].transform == "output.toUpperCase()"
    assert suite.effective_tests()[0].options == {**suite.default_options, **test.options}
    again = parse_suite(dump_suite(suite))
    assert without_lines(again) == without_lines(suite)


def test_a_case_keeps_its_options_in_the_store(tmp_path):
    store = Store.open(tmp_path / "db.sqlite3")
    try:
        from workbench.core.sessions import Session

        session = store.sessions.add(Session(name="s"))
        saved = store.case_sets.save(CaseSet(
            session.id, "cases", default_options={"transform": "output.trim()"},
            cases=(TestCase("", {"a": "b"}, options={"transformVars": "({c: 'd'})"},
                            assertions=(Assertion("contains", "x", transform="output"),)),)))
        found = store.case_sets.get(saved.id)
        assert found.default_options == {"transform": "output.trim()"}
        assert found.cases[0].options == {"transformVars": "({c: 'd'})"}
        assert found.cases[0].assertions[0].transform == "output"
    finally:
        store.close()


def test_the_run_notes_where_javascript_differs_from_promptfoo():
    from workbench.core.suites import Suite, SuiteTest
    from workbench.services.evaluation.differences import promptfoo_notes

    (note,) = promptfoo_notes(Suite(tests=(SuiteTest(assertions=(
        Assertion("javascript", "true"),)),)))
    assert note.startswith("javascript runs in a sandbox (no require, process, fetch, files or "
                           "timers; 1 s of CPU and 128 MB per call)")


def test_context_prompt_is_the_text_of_a_plain_prompt_and_a_chat_as_promptfoo_writes_it():
    from workbench.core.messages import ChatMessage

    user = ChatMessage("user", "Capital of France?")
    assert javascript.prompt_text([user]) == "Capital of France?"
    # promptfoo 0.123.1 gives a chat as JSON.stringify(messages, null, 2)
    # (tests/conformance/javascript_peer.py compares it with promptfoo's own)
    assert javascript.prompt_text([ChatMessage("system", "Be brief."), user]) == (
        '[\n  {\n    "role": "system",\n    "content": "Be brief."\n  },\n  {\n    "role": '
        '"user",\n    "content": "Capital of France?"\n  }\n]')
