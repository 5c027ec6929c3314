"""Tuning trains on the GPU when PyTorch sees one, and says which device (on this CPU
machine: the CPU, and why) in the job's start event, its stored artifacts and its log."""

from __future__ import annotations

import pytest

from workbench.tuning.config import TuneConfig, TuneSettings
from workbench.tuning.device import describe_torch_device, training_device_line
from workbench.tuning.job_files import JobFolder

from .helpers import Recorder, ended_job, services, write_chat_jsonl

SEEN = describe_torch_device()
cpu_only = pytest.mark.skipif(SEEN.device != "cpu", reason=f"PyTorch sees {SEEN.device} here")


@cpu_only
def test_on_this_machine_training_says_cpu_and_why():
    line = training_device_line("auto")
    assert line == f"training on the CPU: no GPU seen by PyTorch ({SEEN.detail})"
    assert "CPU-only build" in SEEN.detail or "no usable NVIDIA GPU" in SEEN.detail
    assert training_device_line("cpu") == line  # asking for what auto picks reads the same


def test_a_gpu_device_names_itself():
    from workbench.tuning.device import TorchDevice

    gpu = TorchDevice("2.13.0", "cuda", "NVIDIA GeForce RTX 4090")
    assert gpu.training_line() == "training on cuda (NVIDIA GeForce RTX 4090)"


@cpu_only
def test_a_job_reports_its_device(tmp_path, bundled_model):
    store, _, tuning = services()
    try:
        settings = TuneSettings(rank=4, alpha=8, max_steps=2, batch_size=2, max_length=64,
                                val_fraction=0.25, checkpoint_every=2, eval_every=2)
        config = TuneConfig(base_model=str(bundled_model), name="device",
                            data=(str(write_chat_jsonl(tmp_path / "d.jsonl")),),
                            settings=settings)
        recorder = Recorder()
        job = ended_job(tuning.start(config, tuning.plan(config), recorder), 300)
        assert job.status == "done", job.error
        start = next(e for e in recorder.events if e.event == "start")
        line = training_device_line("auto")
        assert start.get("device") == "cpu" and start.get("device_note") == line
        assert job.artifacts["device_note"] == line
        assert line in JobFolder(job.artifacts["folder"]).log.read_text()
    finally:
        store.close()
