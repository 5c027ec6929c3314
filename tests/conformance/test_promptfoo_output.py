"""``workbench eval --output FILE``: promptfoo's results layout, from a real run on the bundled
model, checked against the schema derived from promptfoo's own types
(``promptfoo_results.schema.json``; ``run.py`` checks that ``promptfoo import`` loads it)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from jsonschema import Draft202012Validator

from workbench.library.bundled import BUNDLED_NAME

SCHEMA = Path(__file__).with_name("promptfoo_results.schema.json")


def test_output_writes_promptfoos_results_layout(tmp_path, bundled_model):
    suite = tmp_path / "capitals.yaml"
    suite.write_text(textwrap.dedent(f"""
        description: capitals
        prompts:
          - "What is the capital of {{{{country}}}}? Answer in one word."
          - id: tutor
            label: tutor
            raw: "Capital of {{{{country}}}}?"
        providers:
          - id: {BUNDLED_NAME}
            label: smol
            config: {{temperature: 0, max_tokens: 12}}
        tests:
          - description: france
            vars: {{country: France}}
            assert:
              - {{type: contains, value: Paris, metric: city}}
              - {{type: not-contains, value: zzqx}}
          - description: japan
            vars: {{country: Japan}}
            assert:
              - {{type: contains, value: zzqx}}
        """))
    out = tmp_path / "results.json"
    out.write_text("an earlier run's file")  # must not survive as this run's
    done = subprocess.run([sys.executable, "-m", "workbench", "eval", str(suite), "--output",
                           str(out), "--repeat", "2"], capture_output=True, text=True,
                          timeout=600, env=os.environ.copy(), check=False)
    assert done.returncode == 100, done.stderr
    data = json.loads(out.read_text())
    errors = sorted(Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(data),
                    key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]

    summary = data["results"]
    assert summary["version"] == 3 and data["shareableUrl"] is None
    assert data["evalId"].startswith("eval-") and data["config"]["description"] == "capitals"
    assert data["vars"] == ["country"]
    # one column per prompt × provider, labelled as promptfoo labels them, hashed as it hashes
    labels = [p["label"] for p in summary["prompts"]]
    assert labels == ["What is the capital of {{country}}? Answer in one word.", "tutor"]
    assert [p["id"] for p in summary["prompts"]] == [
        hashlib.sha256(label.encode()).hexdigest() for label in labels]
    assert {p["provider"] for p in summary["prompts"]} == {"smol"}
    # tests × repeats (a test's repeats in a row) × columns
    rows = summary["results"]
    assert sorted((r["testIdx"], r["promptIdx"]) for r in rows) == [
        (t, p) for t in range(4) for p in range(2)]
    for row in rows:
        france = row["testIdx"] < 2
        assert row["vars"] == {"country": "France" if france else "Japan"}
        assert row["testCase"]["description"] == ("france" if france else "japan")
        assert row["prompt"]["raw"].count("France" if france else "Japan") == 1
        assert row["provider"] == {"id": BUNDLED_NAME, "label": "smol"}
        assert row["response"]["output"] and row["response"]["tokenUsage"]["completion"] > 0
        components = row["gradingResult"]["componentResults"]
        assert [c["assertion"]["type"] for c in components] == (
            ["contains", "not-contains"] if france else ["contains"])
        if not france:  # contains zzqx fails: an assertion failure, with its reason
            assert row["success"] is False and row["failureReason"] == 1
            assert "zzqx" in row["error"] and not components[0]["pass"]
        else:
            assert row["success"] == row["gradingResult"]["pass"]
            assert set(row["namedScores"]) == {"city"}
    assert {r["metadata"]["workbench"]["repeat"] for r in rows} == {0, 1}
    stats = summary["stats"]
    assert stats["successes"] + stats["failures"] + stats["errors"] == len(rows)
    assert stats["failures"] >= 4  # japan, both repeats, both prompts
    for prompt in summary["prompts"]:
        metrics = prompt["metrics"]
        assert metrics["testPassCount"] + metrics["testFailCount"] == 4
    assert data["metadata"]["workbench"]["exit_code"] == 100
