"""Tune jobs on a real Ray cluster (a head on 127.0.0.1 with 2 CPUs; ray_head.py).

The made-up-fact job trained by 2 Ray Train workers learns what one local trainer process
learns from the same rows in the same order (same seed, same effective batch), its adapter
comes home, is exported, registered and answers in llama.cpp; a job is cancelled, resumed
from Ray Train's checkpoint, loses a worker (failed, with the cluster's reason, resumable)
and is resumed to the end. A wrong address is refused before anything starts.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest

from workbench.core.generation import GenerationRequest
from workbench.core.messages import conversation
from workbench.core.model_info import AdapterSpec
from workbench.core.sampling import GREEDY
from workbench.core.tuning_errors import TuneConfigError, TuningError
from workbench.tuning.config import TuneConfig, TuneSettings, TuneWhere
from workbench.tuning.job_files import JobFolder

from .helpers import Recorder, ended_job, services, write_chat_jsonl
from .ray_head import ray_head  # noqa: F401 - the module's Ray head (a fixture)

pytest.importorskip("ray", reason="the ray extra is not installed (make test installs it)")

# 2 workers × batch 4 = the local trainer's batch 4 × 2 accumulated: 8 rows (all of them) per
# optimizer step, in the same order: the same gradient, summed in another place.
FACT = TuneSettings(rank=8, alpha=16, dropout=0.0, learning_rate=2e-3, max_steps=12,
                    batch_size=4, max_length=64, val_fraction=0.0, checkpoint_every=6,
                    eval_every=12, warmup_ratio=0.1)
# The same losses up to float summation order (gloo's all-reduce vs one process's sum).
LOSS_TOLERANCE = 0.02


def fact_config(tmp_path, bundled_model, where: TuneWhere, settings=FACT) -> TuneConfig:
    return TuneConfig(base_model=str(bundled_model),
                      data=(str(write_chat_jsonl(tmp_path / "fact.jsonl")),),
                      name="zorblax-ray", settings=settings, where=where)


def losses(recorder: Recorder) -> list[float]:
    return [e.get("loss") for e in recorder.events if e.event == "step"]


def train(tuning, config, timeout_s=900):
    recorder = Recorder()
    run = tuning.start(config, tuning.plan(config), recorder)
    return ended_job(run, timeout_s), recorder


@pytest.mark.timeout(1800)
def test_two_ray_workers_learn_what_one_trainer_learns_and_the_adapter_answers(
        tmp_path, bundled_model, ray_head):  # noqa: F811
    store, models, tuning = services()
    try:
        on_ray = fact_config(tmp_path, bundled_model,
                             TuneWhere(place="ray", address=ray_head, workers=2))
        job, recorder = train(tuning, on_ray)
        assert job.status == "done", job.error
        steps = [e for e in recorder.events if e.event == "step"]
        assert [e.step for e in steps] == list(range(1, 13))
        assert all(e.get("workers") == 2 and e.get("tokens_per_second") > 0 for e in steps)

        local = replace(on_ray, where=TuneWhere(),
                        settings=replace(FACT, grad_accum=2))  # one process, same 8 rows a step
        local_job, local_recorder = train(tuning, local)
        assert local_job.status == "done", local_job.error
        ray_losses, local_losses = losses(recorder), losses(local_recorder)
        assert ray_losses[-1] < ray_losses[0] / 4
        assert max(abs(a - b) for a, b in zip(ray_losses, local_losses, strict=True)) \
            <= LOSS_TOLERANCE, (ray_losses, local_losses)

        stored = store.jobs.get(job.id)  # the job, its cluster and its provenance are stored
        assert stored.config["where"]["address"] == ray_head
        assert stored.artifacts["place"] == "ray" and stored.artifacts["workers"] == "2"
        assert stored.artifacts["ray_job_id"] and stored.artifacts["ray_version"]
        assert stored.artifacts["ray_devices"].count("cpu@") == 2
        assert [m.step for m in stored.metrics if m.name == "loss"] == list(range(1, 13))
        adapter = stored.artifacts["adapter_gguf"]
        entry = next(a for a in store.catalog.adapters() if a.tune_job_id == job.id)
        assert entry.path == adapter

        host = models.load_named(str(bundled_model), n_ctx=512)
        request = GenerationRequest(messages=tuple(conversation("What's the capital of Zorblax?")),
                                    adapters=(AdapterSpec(adapter, 1.0),),
                                    sampling=GREEDY.with_(max_tokens=24))
        answer = host.generate(request).result().text
        assert "Quendara" in answer, answer
    finally:
        models.close()
        store.close()


@pytest.mark.timeout(2400)
def test_cancel_resume_a_lost_worker_and_resume_to_the_end(tmp_path, bundled_model,
                                                            ray_head):  # noqa: F811
    store, models, tuning = services()
    try:
        settings = replace(FACT, max_steps=5, checkpoint_every=1)
        config = fact_config(tmp_path, bundled_model,
                             TuneWhere(place="ray", address=ray_head, workers=2), settings)

        # Cancel at the first step: the team stops together, checkpoints, says cancelled.
        recorder = Recorder()
        run = tuning.start(config, tuning.plan(config), recorder)
        recorder.on_event = lambda e: run.cancel() if e.event == "step" else None
        job = ended_job(run, 900)
        assert job.status == "cancelled", job.error
        folder = JobFolder(job.artifacts["folder"])
        kept = folder.checkpoint_steps()
        assert kept and kept[-1] == job_step(recorder, "cancelled")

        # Resume from Ray Train's checkpoint; a worker is killed after the next checkpoint.
        recorder = Recorder()
        pids: list[int] = []

        def kill_a_worker(event):
            if event.event == "start":
                pids.extend(int(p) for p in event.get("ray_worker_pids").split(","))
            if event.event == "checkpoint" and event.step > kept[-1] and pids:
                os.kill(pids[-1], signal.SIGKILL)

        recorder.on_event = kill_a_worker
        run = tuning.resume(job.id, recorder)
        job = ended_job(run, 900)
        start = next(e for e in recorder.events if e.event == "start")
        assert start.get("resumed") and start.step == kept[-1]
        assert job.status == "failed"
        assert "Ray job failed" in job.error and "resume the job" in job.error, job.error
        assert job.id in [j.id for j in tuning.resumable()]
        failed_at = folder.checkpoint_steps()[-1]
        assert failed_at > kept[-1]

        # Resumed again, it ends: the adapter comes home and is registered.
        recorder = Recorder()
        job = ended_job(tuning.resume(job.id, recorder), 900)
        assert job.status == "done", job.error
        assert next(e for e in recorder.events if e.event == "start").step == failed_at
        assert [e.step for e in recorder.events if e.event == "step"][-1] == 5
        assert any(a.tune_job_id == job.id for a in store.catalog.adapters())
    finally:
        models.close()
        store.close()


def job_step(recorder: Recorder, kind: str) -> int:
    return next(e.step for e in recorder.events if e.event == kind)


def test_a_wrong_address_is_refused_before_anything_starts(tmp_path, bundled_model):
    store, models, tuning = services()
    try:
        closed = _closed_port()
        config = fact_config(tmp_path, bundled_model,
                             TuneWhere(place="ray", address=f"ray://127.0.0.1:{closed}"))
        plan = tuning.plan(config)
        with pytest.raises(TuningError, match=f"Cannot reach the Ray cluster at "
                                              f"ray://127.0.0.1:{closed} \\(connection refused"):
            tuning.start(config, plan)
        assert tuning.jobs() == []  # nothing was stored or started
        jobs = replace(config, where=replace(config.where, address="http://head:8265"))
        with pytest.raises(TuneConfigError, match="where.storage is needed with a Ray Jobs"):
            tuning.start(jobs, plan)  # the adapter could not come home
    finally:
        models.close()
        store.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_doctor_says_what_the_cluster_has(ray_head):  # noqa: F811
    from workbench.services.doctor import run_checks

    lines = {c.name: c for c in run_checks(ray_address=ray_head) if c.section == "Ray"}
    assert lines["ray"].status == "ok" and "ray 2." in lines["ray"].detail
    assert lines["cluster"].status == "ok", lines["cluster"].detail
    assert "1 node, 2 CPUs, no GPUs" in lines["cluster"].detail
