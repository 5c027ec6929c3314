"""A quantization lab whose ``workbench quantlab`` is killed with SIGKILL once its first suite
run has begun: ``workbench quantlab --resume`` keeps the files it made (same size and hash, not
quantized again), its reference pass and the arms it measured, finishes the half-done suite run
in place with the suite's seed, and writes the results and report of the whole lab."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.experiments.resume_helpers import kill_when, steps, workbench
from workbench.services.experiments.experiment_state import state_of
from workbench.services.sessions import open_store

QUESTIONS = ["What is the capital of France?", "What is 2 + 2?", "Name a colour.",
             "What do bees make?"]
SUITE = """\
description: resume
prompts:
  - label: plain
    raw: "Answer briefly. {{question}}"
providers:
  - id: smollm2-135m-instruct
    config: {temperature: 0, max_tokens: 4, seed: 1}
tests:
""" + "".join(f"""  - vars: {{question: "{q}"}}
    assert:
      - type: icontains
        value: "a"
""" for q in QUESTIONS)
SETTINGS = ["--quants", "Q8_0", "--repeats", "1", "--pp", "8", "--tg", "2", "--threads", "1"]


def _mtimes(paths) -> dict[str, int]:
    return {str(p): os.stat(p).st_mtime_ns for p in paths}


def test_a_killed_lab_resumes_keeping_its_files_and_measured_arms(tmp_path, workbench_home):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")

    def suite_run_begun(records):
        return any(r["step"] == "pass_rate" for r in records)

    folder, at_kill = kill_when(["quantlab", "smollm2-135m-instruct", *SETTINGS,
                                 "--suite", str(suite)], "quantlab", workbench_home,
                                suite_run_begun, tmp_path / "killed.log")
    assert not (folder / "results.json").exists()
    assert state_of(folder).status == "interrupted"
    files = steps(at_kill, "file")
    assert set(files) == {"F16", "Q8_0"}
    made = [Path(f["data"]["path"]) for f in files.values()]
    logs = sorted((folder / "logs").glob("*.log"))
    before = _mtimes([*made, folder / "reference.npz", *logs])
    measured = steps(at_kill, "arm")
    assert len(measured) == 2  # both arms measured before the suite runs
    begun = next(iter(steps(at_kill, "pass_rate").values()))["data"]
    store = open_store()
    try:
        kept_outputs = {o.id for o in store.runs.outputs(begun["run_id"])}
    finally:
        store.close()
    assert kept_outputs

    done = workbench("quantlab", "--resume", "--json")
    assert done.returncode == 0, done.stderr
    assert f"Resuming {folder.name}: interrupted" in done.stderr
    results = json.loads(done.stdout)
    final = json.loads((folder / "progress.json").read_text())
    assert final["status"] == "done" and len(final["resumed_at"]) == 1

    # Made files, the reference pass and measured arms were kept: the same records, files
    # and logs untouched (a quantizer or measuring child run again appends to its log).
    for kind in ("file", "reference", "arm"):
        assert steps(final, kind) == steps(at_kill, kind), kind
    assert _mtimes(before) == before
    assert sorted((folder / "logs").glob("*.log")) == logs
    assert [a["origin"] for a in results["arms"]] == ["made", "made"]
    for arm in results["arms"]:  # the very numbers measured before the kill (speeds vary)
        recorded = next(r["data"] for r in measured.values()
                        if r["data"]["label"] == arm["label"])
        assert {k: arm[k] for k in recorded} == recorded
    # One suite run per arm; the one begun before the kill was finished in place.
    rates = steps(final, "pass_rate")
    assert len(rates) == 2 and all(r["data"]["state"] == "done" for r in rates.values())
    runs = [arm["eval_run"] for arm in results["arms"]]
    assert begun["run_id"] in runs and len(set(runs)) == 2
    store = open_store()
    try:
        assert kept_outputs <= {o.id for o in store.runs.outputs(begun["run_id"])}
        for run_id in runs:
            assert store.runs.get(run_id).status.value == "done"
            outputs = store.runs.outputs(run_id)
            assert len({o.case_id for o in outputs}) == len(outputs) == len(QUESTIONS)
            assert all(o.answered and o.seed == 1 for o in outputs)  # the suite's seed
    finally:
        store.close()
    assert (folder / "report.html").is_file() and (folder / "report.md").is_file()
    assert json.loads((folder / "results.json").read_text())["arms"] == results["arms"]

    for arm in results["arms"]:
        assert arm["status"] == "done" and arm["total"] == len(QUESTIONS)
        assert arm["passed"] == next(r["data"]["rates"]["passed"] for r in rates.values()
                                     if r["data"]["rates"]["eval_run"] == arm["eval_run"])
