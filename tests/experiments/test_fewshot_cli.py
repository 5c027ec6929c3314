"""``workbench experiment few-shot-vs-lora``: a small experiment through the real command (JSON
on stdout, progress on stderr, the report written where --out says), and a set too small for
the asked split refused with the numbers before anything is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from workbench_resources import EXAMPLES


def workbench(*args: str) -> subprocess.CompletedProcess:
    # env carries this test's WORKBENCH_HOME (tests/conftest.py), a fresh temporary folder
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=600, env=os.environ.copy(), check=False)


CONFIG = f"""
name = "cli check"
data = ["{EXAMPLES / 'few-shot-vs-lora.jsonl'}"]
system = "Answer with one word: billing, shipping, technical or account."
held_out = 2
k = [0, 1]
repeats = 1
adapters = "none"
adapter_on_all = false
control = false
[sampling]
max_tokens = 3
stop = ["\\n"]
"""


def test_cli_runs_an_experiment_and_writes_the_report(tmp_path):
    config = tmp_path / "experiment.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out" / "report.md"
    done = workbench("experiment", "few-shot-vs-lora", str(config), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [a["label"] for a in results["arms"]] == ["zero-shot", "1-shot"]
    assert all(a["status"] == "done" and a["total"] == 2 for a in results["arms"])
    assert results["adapters"] == [] and results["comparison"] is None
    assert "experiment: evaluating:" in done.stderr
    text = out.read_text()
    assert text.startswith("# Few-shot vs fine-tune: cli check")
    assert "| zero-shot | prompt | 0 |" in text
    assert (tmp_path / "out" / "report-figures" / "pass-rate.png").is_file()


def test_cli_refuses_a_set_too_small_with_the_numbers(tmp_path):
    data = tmp_path / "few.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"message {i}", "completion": "a"}) + "\n"
                            for i in range(12)))
    config = tmp_path / "experiment.toml"
    config.write_text(f'data = ["{data}"]\nheld_out = 4\nk = [0, 16]\n')
    done = workbench("experiment", "few-shot-vs-lora", str(config))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "workbench: error: 12 examples: 4 held out leaves 8 for training, fewer than k=16.")
