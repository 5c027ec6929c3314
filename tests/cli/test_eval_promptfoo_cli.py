"""promptfoo's semantics through the real ``workbench eval`` on the bundled model: an assert-set
with its own threshold inside a test with one, weight 0, an empty variable, a ``file://``
prompt trimmed as promptfoo trims it, the CSV ``levenshtein`` shorthand's default threshold,
and the run's notes on where the app deliberately differs."""

from __future__ import annotations

import csv
import json
from textwrap import dedent
from xml.etree import ElementTree

from tests.cli.test_eval_cli import GREEDY, suite, workbench
from workbench.services.sessions import open_store

QUESTION = "{{preamble}}What is the capital of {{country}}? Answer in one word."
ALWAYS, NEVER = "{type: max-length, value: 5000}", "{type: contains, value: zzqx}"
FRANCE = '{country: France, preamble: ""}'  # promptfoo renders the empty preamble empty


def verdicts(junit_path) -> dict[str, bool]:
    root = ElementTree.parse(junit_path).getroot()
    return {case.get("name").removesuffix(" [repeat 1]"): case.find("failure") is None
            for case in root.iter("testcase")}


def test_sets_weights_empty_variables_and_prompt_files_as_promptfoo_runs_them(tmp_path,
                                                                           bundled_model):
    (tmp_path / "question.txt").write_text(f"\n\n   {QUESTION}   \n\n")
    path = suite(tmp_path, dedent("""
        description: promptfoo semantics
        prompts: [file://question.txt]
        """) + GREEDY + dedent(f"""
        tests:
          - description: a set passes by its own threshold
            vars: {FRANCE}
            assert:
              - type: assert-set
                threshold: 0.5
                assert: [{ALWAYS}, {NEVER}]
          - description: a set below its own threshold
            vars: {FRANCE}
            assert:
              - type: assert-set
                threshold: 0.75
                assert: [{ALWAYS}, {NEVER}]
          - description: a failing set weighed in the test's threshold
            vars: {FRANCE}
            threshold: 0.8
            assert:
              - {{type: not-contains, value: zzqx, weight: 2}}
              - type: assert-set
                assert: [{ALWAYS}, {NEVER}]
          - description: weight 0 is a metric
            vars: {FRANCE}
            assert:
              - {{type: not-contains, value: zzqx}}
              - {{type: contains, value: zzqx, weight: 0}}
              - {{type: cost, threshold: 0.01}}
          - description: a set of weight 0 still fails
            vars: {FRANCE}
            assert:
              - {{type: not-contains, value: zzqx}}
              - type: assert-set
                weight: 0
                assert: [{NEVER}]
        """))
    done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"),
                     "--junit", str(tmp_path / "out.xml"))
    assert done.returncode == 100, done.stderr  # cases failed; none failed to generate
    assert verdicts(tmp_path / "out.xml") == {
        "a set passes by its own threshold": True,  # (1 + 0) / 2 = 0.5 ≥ 0.5
        "a set below its own threshold": False,  # 0.5 < 0.75
        "a failing set weighed in the test's threshold": True,  # (2·1 + 1·0.5) / 3 ≥ 0.8
        "weight 0 is a metric": True,
        "a set of weight 0 still fails": False,  # promptfoo does not force a set to pass
    }
    # said once, before the run: cost is a no-op here
    notes = [line for line in done.stderr.splitlines() if line.startswith("workbench: note:")]
    assert notes == ["workbench: note: cost is not measured (local models cost nothing, and no "
                     "backend here reports one): a cost assertion passes unchecked; promptfoo "
                     "refuses it for a provider without costs."]
    data = json.loads((tmp_path / "out.json").read_text())
    outputs = {row["output"] for row in data["results"]}
    assert len(outputs) == 1 and outputs != {""}  # one prompt, greedy: one answer for all
    (metric_row,) = [row for row in data["results"]
                     if any(r["assertion"].get("weight") == 0 and r["assertion"]["type"] ==
                            "contains" for r in row["results"])]
    metric = metric_row["results"][1]
    assert metric["passed"] and metric["reason"] == "does not contain 'zzqx'"
    (set_row,) = [row for row in data["results"] if row["results"][0]["assertion"].get(
        "threshold") == 0.75]
    assert set_row["results"][0]["score"] == 0.5
    assert [c["passed"] for c in set_row["results"][0]["children"]] == [True, False]
    # the prompt file was trimmed, as promptfoo trims a .txt prompt
    store = open_store()
    try:
        run = store.runs.get(data["run_id"])
        version = store.prompts.version(run.variants[0].prompt_version_id)
        assert version.user_template == QUESTION
    finally:
        store.close()

    # A CSV test's `levenshtein: TEXT` takes promptfoo's default threshold (0.75 edits: none),
    # not levenshtein's own 5: one edit away from the answer fails, with (5) it passes.
    one_edit = outputs.pop().strip() + "x"
    with open(tmp_path / "cases.csv", "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([
            ["country", "preamble", "__expected", "__expected2"],
            ["France", "", f"levenshtein: {one_edit}", f"levenshtein(5): {one_edit}"]])
    csv_suite = suite(tmp_path, dedent("""
        prompts: [file://question.txt]
        tests: file://cases.csv
        """) + GREEDY, "csv-suite.yaml")
    done = workbench("eval", str(csv_suite), "--json", str(tmp_path / "csv.json"))
    assert done.returncode == 100, done.stderr
    (row,) = json.loads((tmp_path / "csv.json").read_text())["results"]
    assert [(r["passed"], r["reason"]) for r in row["results"]] == [
        (False, "1 edits > 0.75"), (True, "")]
    notes = [line for line in done.stderr.splitlines() if line.startswith("workbench: note:")]
    assert [note.split(" ", 3)[2] for note in notes] == ["equals,", "levenshtein,"]
