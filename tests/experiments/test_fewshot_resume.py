"""An experiment whose ``workbench experiment few-shot-vs-lora`` is killed with SIGKILL once its
adapter is trained and its first evaluation run has begun: the folder says interrupted, and
``--resume`` finishes it without training again, without a second run of any adapter state
(the half-done run is finished in place, same seeds), ending in the report a whole run writes."""

from __future__ import annotations

import json
import os

from workbench_resources import EXAMPLES

from tests.experiments.resume_helpers import kill_when, steps, workbench
from workbench.services.experiments.experiment_state import state_of
from workbench.services.sessions import open_store

SYSTEM = "Answer with one word: billing, shipping, technical or account."
CONFIG = f"""
name = "resume check"
data = ["{EXAMPLES / 'few-shot-vs-lora.jsonl'}"]
system = "{SYSTEM}"
held_out = 3
k = [0, 1]
seed = 3
repeats = 2
adapters = "none"
adapter_on_all = true
control = false
[sampling]
max_tokens = 3
stop = ["\\n"]
[training]
max_steps = 2
max_length = 96
"""


def test_a_killed_experiment_resumes_without_redoing_its_steps(tmp_path, workbench_home):
    config = tmp_path / "experiment.toml"
    config.write_text(CONFIG)

    def first_run_begun(records):
        return any(r["step"] == "eval" for r in records)

    folder, at_kill = kill_when(["experiment", "few-shot-vs-lora", str(config)], "few-shot",
                                workbench_home, first_run_begun, tmp_path / "killed.log")
    assert not (folder / "results.json").exists()
    assert state_of(folder).status == "interrupted"
    adapter = steps(at_kill, "adapter")["all"]["data"]
    assert adapter["status"] == "done"
    adapter_file = adapter["adapter_path"]
    adapter_mtime = os.stat(adapter_file).st_mtime_ns
    begun = steps(at_kill, "eval")
    store = open_store()
    try:
        kept_outputs = {r["data"]["run_id"]: {o.id for o in store.runs.outputs(
            r["data"]["run_id"])} for r in begun.values()}
        jobs_before = [job.id for job in store.jobs.list()]
    finally:
        store.close()
    assert len(jobs_before) == 1 and all(kept_outputs.values())

    done = workbench("experiment", "few-shot-vs-lora", "--resume", "--json")
    assert done.returncode == 0, done.stderr
    assert f"Resuming {folder.name}: interrupted" in done.stderr
    results = json.loads(done.stdout)
    final = json.loads((folder / "progress.json").read_text())
    assert final["status"] == "done" and len(final["resumed_at"]) == 1

    # Steps done before the kill were not done again: the same records, the same files.
    for kind in ("suite", "adapter"):
        assert steps(final, kind) == steps(at_kill, kind)
    assert os.stat(adapter_file).st_mtime_ns == adapter_mtime
    assert results["adapters"] == [adapter]
    # One run per adapter state, the one begun before the kill finished in place.
    evals = steps(final, "eval")
    assert list(evals) == ["zero-shot+shots-1", "lora-all"]
    assert all(r["data"]["state"] == "done" for r in evals.values())
    assert results["run_ids"] == [r["data"]["run_id"] for r in evals.values()]
    store = open_store()
    try:
        assert [job.id for job in store.jobs.list()] == jobs_before  # no second training
        session = steps(final, "suite")[""]["data"]["session_id"]
        assert [run.id for run in store.runs.for_session(session)] == results["run_ids"]
        for run_id, before in kept_outputs.items():
            assert run_id in results["run_ids"]
            assert before <= {o.id for o in store.runs.outputs(run_id)}  # kept, not redone
        # Every cell once, each repeat with its seed (seed + repeat): a whole run's cells.
        for run_id in results["run_ids"]:
            run = store.runs.get(run_id)
            assert run.status.value == "done"
            outputs = store.runs.outputs(run_id)
            assert len(outputs) == len(run.variants) * 3 * 2
            assert {(o.variant_id, o.case_id, o.repeat) for o in outputs} == {
                (v.id, c, r) for v in run.variants for c in {o.case_id for o in outputs}
                for r in (0, 1)}
            assert all(o.answered and o.seed == 3 + o.repeat for o in outputs)
        verdicts = {}
        for run_id in results["run_ids"]:
            for result in store.evaluations.results(run_id):
                verdicts.setdefault(result.variant_id, []).append(result.passed)
    finally:
        store.close()

    # The results and the report agree with the stored runs.
    arms = {a["key"]: a for a in results["arms"]}
    assert set(arms) == {"zero-shot", "shots-1", "lora-all"}
    for arm in arms.values():
        assert arm["status"] == "done" and arm["total"] == 6
        assert arm["passed"] == sum(verdicts[arm["variant_id"]])
    html = (folder / "report.html").read_text()
    assert all(arm["label"] in html for arm in arms.values())
    assert json.loads((folder / "results.json").read_text())["arms"] == results["arms"]
    assert state_of(folder).status == "done"
