"""``workbench eval`` run twice on the same suite file (the bundled model, for real): one
session holding both runs, listed once, its two runs in one trend."""

from __future__ import annotations

import json

from tests.cli.test_eval_cli import suite, two_cases, workbench
from workbench.services.sessions import open_store


def test_running_a_suite_again_adds_a_run_to_its_session(tmp_path, bundled_model):
    path = suite(tmp_path, two_cases("{type: not-contains, value: zzqx}",
                                     "{type: max-length, value: 5000}"))
    for _ in range(2):
        done = workbench("eval", str(path))
        assert done.returncode == 0, done.stderr
        assert "Stored as session 'eval: capitals'" in done.stdout
    sessions = json.loads(workbench("sessions", "--json").stdout)
    assert [(s["name"], s["runs"], s["outputs"]) for s in sessions] == [("eval: capitals", 2, 4)]
    listed = workbench("sessions").stdout
    assert listed.count("eval: capitals") == 1
    store = open_store()  # this test's WORKBENCH_HOME (tests/conftest.py)
    try:
        [session] = store.sessions.list()
        runs = store.runs.for_session(session.id)
        assert len(runs) == 2 and runs[0].case_set_id == runs[1].case_set_id
        trend = store.evaluations.history(case_set_id=runs[0].case_set_id)
        assert sorted(e.run_id for e in trend) == sorted(run.id for run in runs)
        assert all(e.summary for e in trend)  # both points of the Evaluation tab's trend
    finally:
        store.close()
