"""``workbench eval``: suites run headless on the real bundled model (and a real
OpenAI-compatible server), every exit code, the JSON and JUnit files, stored results."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from xml.etree import ElementTree

import pytest

from tests.plugins.test_openai_compat_cli import serving
from workbench.library.bundled import BUNDLED_NAME

GREEDY = f"""
providers:
  - id: {BUNDLED_NAME}
    label: smol
    config: {{temperature: 0, max_tokens: 24}}
"""


def workbench(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    # env carries this test's WORKBENCH_HOME (tests/conftest.py), a fresh temporary folder
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy(), check=False)


def suite(tmp_path, text: str, name: str = "suite.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def two_cases(first: str, second: str) -> str:
    """A suite whose first case gets ``first`` and second case ``second`` as assertions."""
    return textwrap.dedent("""
        description: capitals
        prompts:
          - "What is the capital of {{country}}? Answer in one word."
        """) + GREEDY + textwrap.dedent(f"""
        tests:
          - description: france
            vars: {{country: France}}
            assert:
              - {first}
          - description: japan
            vars: {{country: Japan}}
            assert:
              - {second}
        """)


def test_a_passing_suite_exits_0_and_writes_json_and_junit(tmp_path, bundled_model):
    path = suite(tmp_path, two_cases("{type: not-contains, value: zzqx}",
                                     "{type: max-length, value: 5000}"))
    done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"),
                     "--junit", str(tmp_path / "out.xml"), "--export", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert "smol" in done.stdout and "2/2" in done.stdout
    assert "eval: 2/2 cells" in done.stderr  # the progress line
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["exit_code"] == 0 and len(data["results"]) == 2
    assert all(row["passed"] and row["output"] for row in data["results"])
    junit = ElementTree.parse(tmp_path / "out.xml").getroot()
    cases = junit.findall("./testsuite/testcase")
    assert len(cases) == 2 and not junit.findall(".//failure")
    assert {c.get("name") for c in cases} == {"france [repeat 1]", "japan [repeat 1]"}
    # --export: any exporter by the file's suffix (CSV is the built-in tables plugin's)
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(row["description"] for row in exported) == ["france", "japan"]
    assert {row["passed"] for row in exported} == {"True"}
    # Stored: the run opens in the app later (its session is listed).
    sessions = json.loads(workbench("sessions", "--json").stdout)
    assert any(s["name"] == "eval: capitals" and s["outputs"] == 2 for s in sessions)


def test_below_the_threshold_exits_100_and_names_the_failing_assertion(tmp_path, bundled_model):
    path = suite(tmp_path, two_cases("{type: not-contains, value: zzqx}",
                                     "{type: contains, value: zzqx}"))
    failed = workbench("eval", str(path), "--junit", str(tmp_path / "out.xml"))
    assert failed.returncode == 100, failed.stderr
    failure = ElementTree.parse(tmp_path / "out.xml").getroot().find(".//failure")
    assert "zzqx" in failure.get("message")
    # the exit says why: the variant below, its pass rate and the threshold it missed
    assert ("workbench: fail: variant 'smol' passed 1/2 (50%), below the threshold of 100% "
            "(every case must pass)") in failed.stderr.splitlines()
    # half of the cases pass: a 50% threshold is met, 60% is not
    met = workbench("eval", str(path), "--threshold", "0.5")
    assert met.returncode == 0 and "workbench: fail" not in met.stderr
    missed = workbench("eval", str(path), "--threshold", "60%")
    assert missed.returncode == 100
    assert ("workbench: fail: variant 'smol' passed 1/2 (50%), below the threshold of 60%"
            in missed.stderr.splitlines())


def test_a_bad_suite_exits_1_before_generating(tmp_path):
    broken = suite(tmp_path, "prompts: ['a {{x}}'\ntests: [\n", "broken.yaml")
    done = workbench("eval", str(broken))
    assert done.returncode == 1
    assert "broken.yaml" in done.stderr and "line" in done.stderr
    typo = suite(tmp_path, two_cases("{type: contians, value: Paris}",
                                     "{type: regex, value: '(unclosed'}"), "typo.yaml")
    done = workbench("eval", str(typo))
    assert done.returncode == 1
    assert "contians" in done.stderr and "france" in done.stderr
    assert "does not compile" in done.stderr and "japan" in done.stderr
    assert "cells" not in done.stderr  # nothing was generated


def test_a_missing_model_exits_1_and_names_it(tmp_path):
    path = suite(tmp_path, """
        prompts: ["Say {{word}}"]
        tests: [{vars: {word: hi}, assert: [{type: contains, value: hi}]}]
        """)
    done = workbench("eval", str(path), "-m", "no-such-model-anywhere")
    assert done.returncode == 1
    assert "no-such-model-anywhere" in done.stderr
    # no providers and no -m: the suite says what to do
    done = workbench("eval", str(path))
    assert done.returncode == 1 and "-m" in done.stderr


def test_repeats_get_their_own_recorded_seeds(tmp_path, bundled_model):
    path = suite(tmp_path, f"""
        prompts: ["Write one word about {{{{topic}}}}."]
        providers:
          - id: {BUNDLED_NAME}
            config: {{temperature: 1.0, max_tokens: 8, seed: 40}}
        tests:
          - vars: {{topic: rain}}
            assert: [{{type: max-length, value: 5000}}]
        """)
    done = workbench("eval", str(path), "--repeat", "3", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "r.json").read_text())["results"]
    assert sorted(row["repeat"] for row in rows) == [0, 1, 2]
    assert sorted(row["seed"] for row in rows) == [40, 41, 42]


@pytest.fixture(scope="module")
def server(bundled_model, tmp_path_factory):
    # llama_cpp.server stops a running completion when another request arrives unless told
    # not to; fanned-out requests then wait their turn (llama-server --parallel runs them).
    with serving(bundled_model, tmp_path_factory.mktemp("server"), "--n_ctx", "2048",
                 "--n_threads", "1", "--interrupt_requests", "False") as base:
        yield base


def test_remote_variants_fan_out_to_a_real_server(tmp_path, server):
    """(A server that is down when the run starts is named by the preflight, see
    test_eval_preflight.py; one killed mid-run fails only its cells, test_stream_faults.py.)"""
    path = suite(tmp_path, """
        prompts: ["Name a colour like {{colour}}."]
        tests:
          - {description: one, vars: {colour: red}, assert: [{type: max-length, value: 5000}]}
          - {description: two, vars: {colour: blue}, assert: [{type: max-length, value: 5000}]}
          - {description: three, vars: {colour: green}, assert: [{type: max-length, value: 5000}]}
        """)
    done = workbench("eval", str(path), "-m", f"openai+{server}", "--concurrency", "3",
                     "--json", str(tmp_path / "remote.json"))
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "remote.json").read_text())["results"]
    assert len(rows) == 3 and all(row["passed"] and row["output"] for row in rows)


def test_a_remote_provider_that_answers_passes_the_preflight(tmp_path, server):
    """Asked GET /v1/models with a short timeout: a server that serves the model passes, as
    provider and as judge; a model it does not serve is named with the provider's line."""
    from workbench.services.evaluation.preflight import Preflight
    from workbench.services.evaluation.suite_file import load_suite
    from workbench.services.models import ModelService
    from workbench.services.plugins import start_plugins

    models = ModelService()
    plugins = start_plugins(models)
    preflight = Preflight(models, plugins)
    path = suite(tmp_path, f"""
        prompts: ["Name a colour like {{{{colour}}}}."]
        providers: ["openai+{server}"]
        defaultTest: {{options: {{provider: "openai+{server}"}}}}
        tests:
          - vars: {{colour: red}}
            assert: [{{type: llm-rubric, value: names a colour}}]
        """)
    assert preflight.problems(load_suite(path)) == []
    wrong = suite(tmp_path, f"""
        prompts: ["Name a colour like {{{{colour}}}}."]
        providers:
          - openai+{server}?model=no-such-served-model
        tests: [{{vars: {{colour: red}}}}]
        """, "wrong.yaml")
    [problem] = preflight.problems(load_suite(wrong))
    assert (problem.source, problem.line, problem.key) == (str(wrong), 4, "providers")
    assert problem.message.startswith(f"{server} has no model 'no-such-served-model'")


def test_a_rubric_judge_on_the_bundled_model_stores_its_reason(tmp_path, bundled_model):
    path = suite(tmp_path, two_cases(
        "{type: llm-rubric, value: The answer names a city}",
        "{type: llm-rubric, value: The answer is polite}").replace(
        "tests:", f"defaultTest:\n  options: {{provider: {BUNDLED_NAME}}}\ntests:", 1))
    done = workbench("eval", str(path), "--json", str(tmp_path / "judged.json"))
    assert done.returncode in (0, 100), done.stderr
    rows = json.loads((tmp_path / "judged.json").read_text())["results"]
    for row in rows:
        (judged,) = row["results"]
        assert judged["assertion"]["type"] == "llm-rubric"
        assert judged["reason"].strip() and "failed" not in judged["reason"]
        assert 0.0 <= judged["score"] <= 1.0


def test_the_shipped_red_team_suite_runs_by_name(tmp_path, bundled_model):
    done = workbench("eval", "redteam", "-m", BUNDLED_NAME, "--max-tokens", "24",
                     "--temperature", "0", "--json", str(tmp_path / "red.json"))
    assert done.returncode in (0, 100), done.stderr  # a 135M model fails some, never errors
    data = json.loads((tmp_path / "red.json").read_text())
    assert len(data["results"]) >= 30 and data["errors"] == 0
    types = {r["assertion"]["type"] for row in data["results"] for r in row["results"]}
    assert {"not-flagged", "is-refusal", "not-icontains"} <= types
    # every failure says which check failed and why
    for row in data["results"]:
        if not row["passed"]:
            assert any(not r["passed"] and r["reason"] for r in row["results"])
