"""Tune jobs whose trainer ended with an earlier app are marked resumable when the app starts,
and the window says so."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.core.tune_jobs import TuneJob
from workbench.services.sessions import open_store
from workbench.tuning.job_files import JobFolder

pytest.importorskip("pytestqt")


def left_running(store, folder: JobFolder, name: str, pid: int, checkpoint: int | None):
    folder.create({"job_id": name}, [], [])
    if checkpoint is not None:
        folder.checkpoint(checkpoint).mkdir(parents=True)
    job = store.jobs.add(TuneJob(session_id=None, config={"name": name}))
    return store.jobs.update(job.id, status="running",
                             artifacts={"folder": str(folder.root), "pid": str(pid)})


def test_jobs_left_running_become_resumable_at_start(qtbot, tmp_path):
    from workbench.ui.app import create_main_window

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)  # a trainer that no longer exists
    store = open_store()
    with_checkpoint = left_running(store, JobFolder(tmp_path / "a"), "overnight", dead_pid, 4)
    without = left_running(store, JobFolder(tmp_path / "b"), "quick", dead_pid, None)
    store.close()

    window, services = create_main_window()
    qtbot.addWidget(window)
    try:
        assert "Tune jobs overnight, quick stopped when the app closed" in window.banner.text
        first, second = (services.store.jobs.get(j.id) for j in (with_checkpoint, without))
        assert first.status == second.status == "failed"
        assert "resume the job to continue from the checkpoint of step 4" in first.error
        assert "from the start (no checkpoint was written)" in second.error
        assert {j.id for j in services.tuning.resumable()} == {first.id, second.id}
        assert services.tuning.recover() == []  # nothing left to recover
    finally:
        services.models.close()
        services.store.close()
