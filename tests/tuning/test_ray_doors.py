"""Tune jobs through a Ray cluster's other doors, and a cluster lost mid-job.

The head is the one a user starts (``ray start --head --block``, ray_head.running_cli_head)
with the Ray Client server and Ray Jobs open. The made-up-fact job, cut short, trains through
the Ray Client (``ray://``) and comes home; through Ray Jobs (``http://``) it is submitted,
cancelled (Ray stops the job), resumed and comes home from the shared storage. A head killed
mid-job (SIGKILL to all its processes) fails the job with the cluster's reason, the job
resumable from the checkpoint it had written. ``workbench doctor --ray`` asks the cluster
through both doors.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from workbench.tuning.config import TuneWhere
from workbench.tuning.job_files import JobFolder
from workbench.tuning.on_ray.driver import POINTER

from .helpers import Recorder, ended_job, services
from .ray_head import running_cli_head
from .test_ray_jobs import FACT, fact_config, job_step, train

pytest.importorskip("ray", reason="the ray extra is not installed (make test installs it)")

SHORT = replace(FACT, max_steps=3, checkpoint_every=1, eval_every=3)
# Long enough that a cancel sent at the first step lands before the last one: Ray Jobs stops the
# driver a few seconds after stop_job, and on a quiet machine 3 steps took less than that.
STOPPABLE = replace(FACT, max_steps=12, checkpoint_every=1, eval_every=12)


@pytest.fixture(scope="module")
def cli_head():
    with running_cli_head() as head:
        yield head


def adapter_home(store, job) -> bool:
    folder = JobFolder(job.artifacts["folder"])
    return ((folder.adapter / "adapter_model.safetensors").is_file()
            and any(a.tune_job_id == job.id for a in store.catalog.adapters()))


@pytest.mark.timeout(900)
def test_a_job_through_the_ray_client_comes_home(tmp_path, bundled_model, cli_head):
    """The head's first Ray Client server dies as it starts (ray-project/ray#63202 does that
    to about 7% of connections): the driver connects again and the job runs."""
    store, models, tuning = services()
    try:
        config = fact_config(tmp_path, bundled_model,
                             TuneWhere(place="ray", address=cli_head.client, workers=2), SHORT)
        cli_head.fail_next_client_server()
        job, recorder = train(tuning, config, timeout_s=800)
        assert job.status == "done", job.error
        assert cli_head.client_servers_failed() == 1
        log = JobFolder(job.artifacts["folder"]).log.read_text()
        assert "failed to start (a known Ray fault, ray-project/ray#63202)" in log, log[-2000:]
        assert [e.step for e in recorder.events if e.event == "step"] == [1, 2, 3]
        stored = store.jobs.get(job.id)
        assert stored.artifacts["ray_address"] == cli_head.client
        assert stored.artifacts["workers"] == "2" and stored.artifacts["ray_job_id"]
        assert adapter_home(store, stored)
    finally:
        models.close()
        store.close()


@pytest.mark.timeout(1500)
def test_a_job_submitted_through_ray_jobs_is_stopped_resumed_and_comes_home(
        tmp_path, bundled_model, cli_head):
    from ray.job_submission import JobStatus, JobSubmissionClient

    store, models, tuning = services()
    try:
        where = TuneWhere(place="ray", address=cli_head.jobs, workers=2,
                          storage=str(tmp_path / "shared-storage"))
        config = fact_config(tmp_path, bundled_model, where, STOPPABLE)

        recorder = Recorder()
        run = tuning.start(config, tuning.plan(config), recorder)
        recorder.on_event = lambda e: run.cancel() if e.event == "step" else None
        job = ended_job(run, 700)
        assert job.status == "cancelled", job.error
        first = job.artifacts["ray_submission_id"]
        assert JobSubmissionClient(cli_head.jobs).get_job_status(first) == JobStatus.STOPPED
        kept = JobFolder(job.artifacts["folder"]).checkpoint_steps()
        assert kept and kept[-1] == job_step(recorder, "cancelled")
        assert kept[-1] < STOPPABLE.max_steps, "the cancel landed after the last step"

        recorder = Recorder()
        job = ended_job(tuning.resume(job.id, recorder), 700)
        assert job.status == "done", job.error
        assert next(e for e in recorder.events if e.event == "start").step == kept[-1]
        assert [e.step for e in recorder.events if e.event == "step"][-1] == STOPPABLE.max_steps
        stored = store.jobs.get(job.id)
        assert stored.artifacts["ray_address"] == cli_head.jobs
        assert stored.artifacts["ray_submission_id"] not in ("", first)
        assert adapter_home(store, stored)
    finally:
        models.close()
        store.close()


def test_doctor_asks_the_cluster_through_the_client_and_ray_jobs(cli_head):
    from workbench.services.doctor import run_checks

    cli_head.fail_next_client_server()  # the doctor connects again, as the driver does
    for address in (cli_head.client, cli_head.jobs):
        lines = {c.name: c for c in run_checks(ray_address=address) if c.section == "Ray"}
        assert lines["cluster"].status == "ok", lines["cluster"].detail
        assert "1 node, 2 CPUs, no GPUs" in lines["cluster"].detail
    assert cli_head.client_servers_failed() == 1


def job_with_its_head_killed(tmp_path, bundled_model, door: str, **where):
    """A 40-step job on a head of its own, through ``door`` ("client" or "jobs"), the head
    SIGKILLed once the first checkpoint is told; (the ended job, the head's address at that
    door, whether the job is resumable, the path its newest checkpoint pointer names)."""
    store, models, tuning = services()
    try:
        with running_cli_head() as head:
            address = getattr(head, door)
            config = fact_config(tmp_path, bundled_model,
                                 TuneWhere(place="ray", address=address, workers=2, **where),
                                 replace(FACT, max_steps=40, checkpoint_every=1))
            recorder = Recorder()
            killed = threading.Event()

            def kill_the_head(event):
                if event.event == "checkpoint" and not killed.is_set():
                    killed.set()
                    head.kill()

            recorder.on_event = kill_the_head
            job = ended_job(tuning.start(config, tuning.plan(config), recorder), 600)
        assert killed.is_set()
        resumable = job.id in [j.id for j in tuning.resumable()]
        pointer = JobFolder(job.artifacts["folder"]).latest_checkpoint() / POINTER
        return job, address, resumable, Path(json.loads(pointer.read_text())["path"])
    finally:
        models.close()
        store.close()


@pytest.mark.timeout(900)
def test_a_head_lost_mid_job_fails_it_with_the_reason_and_keeps_its_checkpoint(
        tmp_path, bundled_model):
    job, _, resumable, checkpoint = job_with_its_head_killed(tmp_path, bundled_model, "client")
    assert job.status == "failed", job.error
    assert "Ray" in job.error and "resume the job" in job.error, job.error
    assert resumable and checkpoint.is_dir()  # on disk, kept


@pytest.mark.timeout(900)
def test_a_head_lost_under_a_ray_jobs_job_fails_it_and_keeps_its_checkpoint(
        tmp_path, bundled_model):
    """Through Ray Jobs the laptop only watches: when the head dies (its dashboard with it),
    the status checks go unanswered and after ANSWER_TIMEOUT_S the job fails saying so —
    never a job left running for ever — with the checkpoint it had in the shared storage."""
    job, address, resumable, checkpoint = job_with_its_head_killed(
        tmp_path, bundled_model, "jobs", storage=str(tmp_path / "shared-storage"))
    assert job.status == "failed", job.error
    assert "stopped answering" in job.error and address in job.error, job.error
    assert resumable and checkpoint.is_dir()  # in the shared storage
