"""A model load is a job the service starts and returns (ModelService.start_load): progress
as llama.cpp reads the weights, the host as outcome, a cancel that leaves no host behind."""

from __future__ import annotations

import threading
from pathlib import Path

from workbench.core.job_state import CANCELLED, DONE, FAILED, JobWatcher
from workbench.plugins.builtin.llamacpp_backend import LOCAL_SCHEME, host_for, open_gguf
from workbench.plugins.contributions import Backend
from workbench.services.models import ModelService

SMALL = {"n_ctx": 512, "n_parallel": 1}


def test_a_load_job_reports_progress_and_ends_with_the_host(bundled_model):
    service = ModelService()
    seen = []
    job = service.start_load(str(bundled_model), watcher=JobWatcher(on_progress=seen.append),
                             **SMALL)
    try:
        assert job.wait(120)
        assert job.status == DONE and service.loaded() == [job.outcome]
        assert job.outcome.tokenize("hello", add_special=False)
        assert [p.fraction for p in seen][0] == 0.0 and seen[-1].fraction == 1.0
        assert {p.message for p in seen} == {f"loading {bundled_model.name}…"}
        job.cancel()  # once the model is up, a cancel changes nothing
        assert job.status == DONE and job.outcome.alive
    finally:
        service.close()


def test_a_load_cancelled_while_llama_cpp_reads_it_leaves_no_host(bundled_model):
    service = ModelService()
    started, pids = threading.Event(), []
    box = {}

    def cancel_once_the_host_loads(_progress) -> None:
        hosts = service.loaded()
        if not pids and hosts and hosts[0].pid is not None:  # the host's own first event
            pids.append(hosts[0].pid)
            started.wait()
            box["job"].cancel()

    job = service.start_load(str(bundled_model), **SMALL,
                             watcher=JobWatcher(on_progress=cancel_once_the_host_loads))
    box["job"] = job
    started.set()
    try:
        assert job.wait(120)
        assert job.status == CANCELLED and job.outcome is None and job.error is None
        assert service.loaded() == []
        (pid,) = pids
        assert not Path(f"/proc/{pid}").exists()  # the host process is gone
        # The app stays usable: the same model loads again, in a new host.
        again = service.start_load(str(bundled_model), **SMALL)
        assert again.wait(120) and again.status == DONE and again.outcome.pid != pid
    finally:
        service.close()


def test_a_load_that_fails_says_why(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    service = ModelService()
    job = service.start_load(str(broken))
    assert job.wait(60)
    assert job.status == FAILED and "broken.gguf" in job.error
    assert service.loaded() == []


class EngineWithoutProgress:
    """A plugin's engine whose ``start()`` takes no job (the llama.cpp host underneath)."""

    def __init__(self, settings, logs_dir):
        self.host = host_for(settings, logs_dir)
        self.settings = settings
        self.metadata = None

    def start(self):
        self.metadata = self.host.start()
        return self.metadata

    def close(self):
        self.host.close()


def test_an_engine_that_cannot_stop_a_load_still_ends_the_job_cancelled(bundled_model):
    service = ModelService()
    service.set_backends({LOCAL_SCHEME: Backend(LOCAL_SCHEME, open_gguf,
                                                load=EngineWithoutProgress)})
    seen = []
    job = service.start_load(str(bundled_model), watcher=JobWatcher(on_progress=seen.append),
                             **SMALL)
    job.cancel()  # the engine cannot stop: it loads, and the job is told once it has
    try:
        assert job.wait(120)
        assert job.status == CANCELLED and job.outcome is None
        assert [p.fraction for p in seen] == [0.0]  # no progress from such an engine
        (model,) = service.loaded()  # filed with the service like any loaded model
        assert isinstance(model, EngineWithoutProgress) and model.host.alive
    finally:
        service.close()


def test_a_host_killed_while_llama_cpp_reads_the_model_fails_the_load_with_the_reason(
        bundled_model):
    """kill -9 of the model host mid-load: the job fails and says llama.cpp crashed (never a
    model that looks loaded); the service keeps no dead host, and the next load works."""
    import os
    import signal

    service = ModelService()
    pids = []

    def kill_the_host_once_it_loads(_progress) -> None:
        hosts = service.loaded()
        if not pids and hosts and hosts[0].pid is not None:  # the host's own first event
            pids.append(hosts[0].pid)
            os.kill(hosts[0].pid, signal.SIGKILL)

    job = service.start_load(str(bundled_model), **SMALL,
                             watcher=JobWatcher(on_progress=kill_the_host_once_it_loads))
    try:
        assert job.wait(120)
        assert pids, "the host never reported loading progress"
        assert job.status == FAILED and job.outcome is None, (job.status, job.error)
        assert bundled_model.name in job.error and "crashed while loading" in job.error, job.error
        assert "SIGKILL" in job.error, job.error
        assert service.loaded() == []
        again = service.start_load(str(bundled_model), **SMALL)
        assert again.wait(120) and again.status == DONE and again.outcome.pid != pids[0]
    finally:
        service.close()
