"""promptfoo's JavaScript through the real ``workbench eval`` on the bundled model: javascript
checks of each form (expression, body with return, boolean, number with and without a
threshold, {pass, score, reason}) seeing ``context.vars`` and ``context.prompt``, a check that
throws, ``options.transform`` (defaultTest's and a test's own), ``assert[].transform`` and
``transformVars`` end to end, and a syntax error refused by the preflight with file:line
before anything is generated."""

from __future__ import annotations

from textwrap import dedent
from xml.etree import ElementTree

from tests.cli.test_eval_cli import GREEDY, suite, workbench
from workbench.services.sessions import open_store


def verdicts(junit_path) -> dict[str, tuple[bool, str]]:
    root = ElementTree.parse(junit_path).getroot()
    found = {}
    for case in root.iter("testcase"):
        failure = case.find("failure")
        found[case.get("name").removesuffix(" [repeat 1]")] = (
            failure is None, "" if failure is None else (failure.get("message") or "")
            + (failure.text or ""))
    return found


def test_javascript_checks_and_transforms_run_as_promptfoo_runs_them(tmp_path, bundled_model):
    path = suite(tmp_path, dedent("""
        description: javascript
        prompts:
          - "What is the capital of {{country}}? Answer in one word. {{hint}}"
        """) + GREEDY + dedent("""
        defaultTest:
          options:
            # promptfoo: the object returned is merged over the test's vars, before rendering
            transformVars: "({hint: 'Think of ' + vars.country.toUpperCase() + '.'})"
        tests:
          - description: forms
            vars: {country: France}
            assert:
              - {type: javascript, value: "output.length < 2000"}
              - {type: javascript, value: "typeof output === 'string' && output.length > 0"}
              - {type: not-javascript, value: "output.length > 5000"}
              - type: javascript
                value: |
                  const words = output.trim().split(/\\s+/);
                  return words.length >= 1;
              - {type: javascript, value: "output.length > 0 ? 0.75 : 0"}
              - {type: javascript, value: "0.75", threshold: 0.5}
              - type: javascript
                value: |
                  const country = context.vars.country;
                  return {pass: true, score: 0.9, reason: 'asked about ' + country};
          - description: context
            vars: {country: Japan}
            assert:
              - {type: javascript, value: "context.vars.country === 'Japan'"}
              - {type: javascript, value: "context.vars.hint === 'Think of JAPAN.'"}
              - type: javascript
                value: "context.prompt === 'What is the capital of Japan? Answer in one word. Think of JAPAN.'"
          - description: one uuid per test
            vars: {country: Peru}
            options:  # its own replaces defaultTest's; the check sees what was rendered
              transformVars: "({hint: 'Reference ' + context.uuid + '.'})"
            assert:
              - type: javascript
                value: "context.vars.hint.length > 40 && context.prompt.endsWith(context.vars.hint)"
          - description: a score under its threshold
            vars: {country: Italy}
            assert:
              - {type: javascript, value: "0.25", threshold: 0.5}
          - description: a throw
            vars: {country: Spain}
            assert:
              - type: javascript
                value: |
                  const parsed = null;
                  return parsed.answer === 'Madrid';
          - description: transforms
            vars: {country: Germany}
            options:
              transform: "({text: output, length: output.length})"
            assert:
              - {type: javascript, value: "typeof output === 'object' && output.length === output.text.length"}
              - {type: contains, value: '"length":'}
              - type: equals
                value: TRANSFORMED
                transform: "'transformed'.toUpperCase()"
        """))
    junit = tmp_path / "junit.xml"
    done = workbench("eval", str(path), "--junit", str(junit))
    assert done.returncode == 100, done.stderr  # some cases fail, none failed to generate
    found = verdicts(junit)
    assert found["forms"] == (True, ""), found["forms"]
    assert found["context"] == (True, ""), found["context"]
    assert found["one uuid per test"] == (True, ""), found["one uuid per test"]
    passed, message = found["a score under its threshold"]
    assert not passed and "JavaScript returned 0.25 < 0.5" in message
    passed, message = found["a throw"]
    assert not passed
    assert "JavaScript threw TypeError: Cannot read properties of null (reading 'answer') " \
           "(line 2)" in message
    assert found["transforms"] == (True, ""), found["transforms"]

    # The run's cases keep their options: the stored prompt held the transformed variable.
    store = open_store()
    try:
        session = next(s for s in store.sessions.list() if s.name == "eval: javascript")
        case_set = store.case_sets.for_session(session.id)[0]
        assert all(case.options.get("transformVars") for case in case_set.cases)
        assert case_set.default_options == {"transformVars": "({hint: 'Think of ' + "
                                                             "vars.country.toUpperCase() + '.'})"}
    finally:
        store.close()


def test_a_javascript_syntax_error_is_refused_before_anything_is_generated(tmp_path,
                                                                          bundled_model):
    path = suite(tmp_path, dedent("""
        description: broken javascript
        prompts: ["Hello {{name}}"]
        """) + GREEDY + dedent("""
        tests:
          - vars: {name: Ada}
            assert:
              - type: javascript
                value: |
                  const n = output.length;
                  return n >;
          - vars: {name: Bob}
            options:
              transform: output.trim(
          - vars: {name: Cy}
            assert:
              - {type: python, value: "file://check.py"}
        """))
    done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"))
    assert done.returncode == 1
    assert f"{path}:13: assert: in test 1: javascript does not compile: SyntaxError: " \
           "Unexpected token ';' (line 2)" in done.stderr
    assert f"{path}:19: transform: in test 2: options.transform does not compile: " \
           "SyntaxError:" in done.stderr
    assert "Python code in a suite is not run, it would run with the app's full rights " \
           "(javascript checks run in a sandbox with no I/O)" in done.stderr
    assert not (tmp_path / "out.json").exists()
    store = open_store()
    try:
        assert not [s for s in store.sessions.list() if s.name == "eval: broken javascript"]
    finally:
        store.close()


def test_a_transform_vars_that_throws_is_found_by_the_preflight(tmp_path, bundled_model):
    path = suite(tmp_path, dedent("""
        description: vars that throw
        prompts: ["Hello {{name}} {{extra}}"]
        """) + GREEDY + dedent("""
        tests:
          - vars: {name: Ada}
            options:
              transformVars: "({extra: vars.missing.length})"
        """))
    done = workbench("eval", str(path))
    assert done.returncode == 1
    assert f"{path}:11: options: in test 1: transformVars threw TypeError: Cannot read " \
           "properties of undefined (reading 'length') (line 1)" in done.stderr, done.stderr
