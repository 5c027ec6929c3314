"""Ctrl-C on a command whose service started a job (cli/job_wait.py): the job is asked to
cancel, stops keeping what it did and ends cancelled; the command exits 130 and says how to
go on."""

from __future__ import annotations

import signal
import time

from tests.cli.test_eval_cli import suite, workbench
from tests.cli.test_eval_resume import COUNTRIES, SUITE, only_run, outputs_stored, start_eval
from workbench.core.runs import RunStatus
from workbench.services import run_state
from workbench.services.sessions import open_store


def test_ctrl_c_cancels_an_eval_run_and_resume_finishes_it(tmp_path, bundled_model):
    path = suite(tmp_path, SUITE)
    process = start_eval(str(path))
    deadline = time.monotonic() + 240
    while outputs_stored() < 2:
        assert process.poll() is None, f"the run ended before Ctrl-C: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no outputs within 240 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "eval: cancelling" in err and "Traceback" not in err

    store = open_store()
    try:
        run = only_run(store)
        assert run.status is RunStatus.CANCELLED  # stopped by its job, not killed
        stopped_at = run_state.progress(store, run)
        assert 2 <= stopped_at.done < stopped_at.total == len(COUNTRIES)
    finally:
        store.close()
    assert f"workbench: cancelled; `workbench eval --resume {run.id[:8]}` finishes it." in err

    done = workbench("eval", "--resume", run.id[:8])
    assert done.returncode == 0, done.stderr
    assert f"eval: {len(COUNTRIES)}/{len(COUNTRIES)} cells" in done.stderr
