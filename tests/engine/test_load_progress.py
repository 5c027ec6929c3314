"""A model load's progress and cancel through the host protocol, on the real bundled model:
llama.cpp's progress callback reaches the caller's job, and a cancel leaves no host behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.job_state import JobState, JobWatcher
from workbench.core.model_info import LoadSettings
from workbench.engine.host import wire
from workbench.engine.host.client import ModelHost
from workbench.engine.host.loading import LoadCancelled
from workbench.engine.host.spawn import start_process


def small(bundled_model) -> LoadSettings:
    return LoadSettings(str(bundled_model), n_ctx=512, n_parallel=1)


def test_a_load_reports_how_far_the_weights_are_read_from_0_to_1(bundled_model, tmp_path):
    job = JobState("load")
    fractions: list[float] = []
    job.watch(JobWatcher(on_progress=lambda progress: fractions.append(progress.fraction)))
    host = ModelHost(small(bundled_model), logs_dir=tmp_path)
    try:
        meta = host.start(job=job)
        assert meta.architecture == "llama"
        assert fractions[0] == 0.0 and fractions[-1] == 1.0
        assert fractions == sorted(fractions) and len(fractions) > 2
        assert host.tokenize("hello", add_special=False)  # the load was whole
    finally:
        host.close()


def test_a_load_cancelled_at_its_first_progress_event_ends_its_process(bundled_model,
                                                                       tmp_path):
    job = JobState("load")
    host = ModelHost(small(bundled_model), logs_dir=tmp_path)
    seen: list[int | None] = []

    def cancel_at_once(_progress) -> None:
        if not seen:
            seen.append(host.pid)
            job.cancel()

    job.watch(JobWatcher(on_progress=cancel_at_once))
    with pytest.raises(LoadCancelled, match="was cancelled"):
        host.start(job=job)
    (pid,) = seen
    assert not host.alive and not Path(f"/proc/{pid}").exists()
    with pytest.raises(LoadCancelled):  # an abandoned host never loads again
        host.start()
    host.close()


def test_the_host_stops_llama_cpps_load_when_it_is_cancelled(bundled_model, tmp_path):
    """The cancel reaches llama.cpp: its progress callback says no and the load stops there
    (llama.cpp logs "cancelled model load"); the host answers LoadCancelled and serves on."""
    log = tmp_path / "host.log"
    proc = start_process(log)
    try:
        # Both lines at once: the host's reader takes the cancel while llama.cpp is imported.
        proc.stdin.write(wire.encode({"id": 1, "op": "load",
                                      "settings": small(bundled_model).to_wire()})
                         + wire.encode({"id": 0, "op": "cancel", "targets": [1]}))
        proc.stdin.flush()
        replies = [wire.decode(proc.stdout.readline())]
        while replies[-1]["type"] == "progress":
            replies.append(wire.decode(proc.stdout.readline()))
        assert replies[-1]["type"] == "error" and replies[-1]["kind"] == "LoadCancelled"
        proc.stdin.write(wire.encode({"id": 2, "op": "ping"}))
        proc.stdin.flush()
        assert wire.decode(proc.stdout.readline())["type"] == "result"
    finally:
        proc.kill()
        proc.wait()
    assert "cancelled model load" in log.read_text()  # written (unbuffered) before the answer
