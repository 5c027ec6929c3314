"""``workbench eval``'s preflight through the real command: a suite with many problems of
different kinds — the file's own, a plugin scorer, a judge, a server where nothing listens, a
template that fails for some cases, a regex — is refused with one message naming every problem
with its file and line, and nothing is stored."""

from __future__ import annotations

import re

from tests.cli.test_eval_cli import suite, workbench
from tests.plugins.test_openai_compat_cli import free_port
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.sessions import open_store


def sessions_stored() -> int:
    """Sessions in the SQLite store ``workbench`` uses (this test's WORKBENCH_HOME)."""
    store = open_store()
    try:
        return len(store.sessions.list())
    finally:
        store.close()


def test_every_problem_of_a_suite_is_named_at_once_and_nothing_is_stored(tmp_path,
                                                                         bundled_model):
    port = free_port()  # nothing listens there
    path = suite(tmp_path, f"""\
        description: every problem at once
        prompts:
          - "What is the capital of {{{{country}}}}?"
          - "Tell me about {{{{ topic | title }}}} in {{{{ country }}}}."
        providers:
          - id: {BUNDLED_NAME}
            config: {{temperature: 0, max_tokens: 8}}
          - id: openai+http://127.0.0.1:{port}/v1
            label: remote
        tests:
          - description: france
            vars: {{country: France, topic: food}}
            assert:
              - {{type: python, value: no_such_scorer}}
          - description: japan
            vars: {{country: Japan}}
            assert:
              - {{type: llm-rubric, value: is polite, provider: no-such-judge-model}}
          - vars: {{country: Peru}}
            assert:
              - {{type: regex, value: "(unclosed"}}
          - vars: {{country: Chile}}
          - vars: {{country: Spain}}
        scenarios: []
        """)
    before = sessions_stored()

    done = workbench("eval", str(path))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "The suite has 6 problems:" in done.stderr
    found = [line.strip() for line in done.stderr.splitlines() if line.strip().startswith(
        str(path))]
    expected = [
        (4, r"prompts: prompt 2: 'topic' is undefined — in tests \"japan\", 3 \(and 2 more\)"),
        (8, rf"providers: nothing answers at http://127\.0\.0\.1:{port}/v1 "
            r"\(connection refused\)"),
        (14, r"assert: in test \"france\": no plugin scorer is called 'no_such_scorer'"),
        (18, r"assert: in test \"japan\": the judge model 'no-such-judge-model' cannot be "
             r"used: No model named 'no-such-judge-model'"),
        (21, r"assert: in test 3: regex '\(unclosed' does not compile"),
        (24, r"scenarios: not supported at the top level"),
    ]
    assert len(found) == len(expected), done.stderr
    for line, (number, pattern) in zip(found, expected):
        assert re.match(rf"{re.escape(str(path))}:{number}: {pattern}", line), line
    assert "cells" not in done.stderr  # nothing was generated
    assert sessions_stored() == before  # nothing was stored


def test_models_given_with_m_are_checked_too(tmp_path):
    port = free_port()
    path = suite(tmp_path, """
        prompts: ["Say {{word}}"]
        tests: [{vars: {word: hi}}]
        """)
    before = sessions_stored()
    done = workbench("eval", str(path), "-m", "no-such-model-anywhere",
                     "-m", f"openai+http://127.0.0.1:{port}/v1")
    assert done.returncode == 1
    assert "The suite has 2 problems:" in done.stderr
    assert f"{path}: -m: No model named 'no-such-model-anywhere'" in done.stderr
    assert f"{path}: -m: nothing answers at http://127.0.0.1:{port}/v1" in done.stderr
    assert sessions_stored() == before
