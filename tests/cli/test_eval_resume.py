"""An interrupted `workbench eval` (kill -9 of the real CLI mid-run) is found as interrupted,
and `--resume` finishes only its missing cells in the same run, ending as an uninterrupted run
would: the same answers, each cell once, the same exit code and files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from xml.etree import ElementTree

from tests.cli.test_eval_cli import suite, workbench
from workbench.core.runs import RunStatus
from workbench.library.bundled import BUNDLED_NAME
from workbench.services import run_state
from workbench.services.sessions import open_store

COUNTRIES = ["France", "Japan", "Peru", "Kenya", "Norway", "Chile", "Egypt", "India", "Spain",
             "Italy", "Ghana", "Nepal", "Cuba", "Laos", "Mali", "Oman"]

SUITE = f"""
description: capitals resumed
prompts: ["Tell me about the capital of {{{{country}}}} in two sentences."]
providers:
  - id: {BUNDLED_NAME}
    label: smol
    config: {{temperature: 0.7, seed: 11, max_tokens: 40}}
defaultTest:
  assert:
    - {{type: max-length, value: 5000}}
tests:
""" + "".join(f"  - {{description: {c.lower()}, vars: {{country: {c}}}}}\n" for c in COUNTRIES)


def start_eval(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", "eval", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def outputs_stored() -> int:
    store = open_store()
    try:
        return sum(len(store.runs.filled_cells(run_id)) for status in RunStatus
                   for run_id in store.runs.ids_with_status(status))
    finally:
        store.close()


def only_run(store):
    [run_id] = [run_id for status in RunStatus for run_id in store.runs.ids_with_status(status)]
    return store.runs.get(run_id)


def test_kill_9_mid_run_then_resume_finishes_the_same_run(tmp_path, bundled_model):
    path = suite(tmp_path, SUITE)
    results, junit = tmp_path / "out.json", tmp_path / "out.xml"
    results.write_text('{"stale": "an earlier run"}')
    process = start_eval(str(path), "--json", str(results), "--junit", str(junit))
    deadline = time.monotonic() + 240
    while outputs_stored() < 3:
        assert process.poll() is None, f"the run ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no outputs within 240 s"
        time.sleep(0.05)

    store = open_store()
    try:
        run = only_run(store)
        # While its process works on it, the run is running, not interrupted.
        assert run_state.find_interrupted(store) == [] and run.status is RunStatus.RUNNING
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        assert not results.exists(), "a stale results file was left looking current"
        assert run_state.find_interrupted(store) == [run.id]
        run = store.runs.get(run.id)
        assert run.status is RunStatus.INTERRUPTED
        before = run_state.progress(store, run)
        assert 3 <= before.done < before.total == len(COUNTRIES)
        kept = {o.id: o.text for o in store.runs.outputs(run.id)}
    finally:
        store.close()

    # A plain re-run says the interrupted run can be finished instead.
    sessions = workbench("sessions")
    assert f"interrupted ({before.done} of {before.total} cells)" in sessions.stdout

    done = workbench("eval", "--resume", str(path), "--json", str(results), "--junit", str(junit))
    assert done.returncode == 0, done.stderr
    assert f"Resuming run {run.id[:8]} ({before.done} of {before.total} cells done)" in done.stderr
    assert f"eval: {len(COUNTRIES)}/{len(COUNTRIES)} cells" in done.stderr

    store = open_store()
    try:
        run = store.runs.get(run.id)
        assert run.status is RunStatus.DONE
        outputs = store.runs.outputs(run.id)
        cells = [(o.variant_id, o.case_id, o.repeat) for o in outputs]
        assert len(cells) == len(set(cells)) == len(COUNTRIES)  # each cell once
        assert {o.id: o.text for o in outputs if o.id in kept} == kept  # kept as they were
        assert len(store.evaluations.results(run.id)) == len(COUNTRIES)
        resumed = {store.case_sets.get(run.case_set_id).cases[i].description: o.text
                   for o in outputs
                   for i, case in enumerate(store.case_sets.get(run.case_set_id).cases)
                   if case.id == o.case_id}
        assert len(store.sessions.list()) == 1  # resumed in place: no second session
    finally:
        store.close()
    data = json.loads(results.read_text())
    assert data["run_id"] == run.id and data["exit_code"] == 0
    assert len(data["results"]) == len(COUNTRIES)
    assert len(ElementTree.parse(junit).getroot().findall("./testsuite/testcase")) == len(COUNTRIES)

    # The same answers as a run that was never interrupted (the same seeds per cell).
    fresh = tmp_path / "fresh.json"
    assert workbench("eval", str(path), "--json", str(fresh)).returncode == 0
    store = open_store()
    try:
        cases = {c.id: c.description for c in store.case_sets.get(
            store.runs.get(json.loads(fresh.read_text())["run_id"]).case_set_id).cases}
        uninterrupted = {cases[o.case_id]: o.text for o in store.runs.outputs(
            json.loads(fresh.read_text())["run_id"])}
    finally:
        store.close()
    assert resumed == uninterrupted


def test_resume_says_what_it_cannot_do(tmp_path):
    done = workbench("eval", "--resume")
    assert done.returncode == 1 and "No interrupted or stopped run to resume" in done.stderr
    done = workbench("eval", "--resume", "zz99")
    assert done.returncode == 1 and "No run with an id starting 'zz99'" in done.stderr
    done = workbench("eval")
    assert done.returncode == 1 and "--resume" in done.stderr
