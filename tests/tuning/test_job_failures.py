"""Tune jobs that go wrong: a crashed trainer, resume, cancel, out of memory, bad bases.

Each gets one clear sentence, the job's final state is stored, and checkpoints survive.
"""

from __future__ import annotations

import json
import os
import signal
import types

import pytest

from workbench.core.job_state import CANCELLED
from workbench.core.tuning_errors import TuneConfigError, UnsupportedBaseError
from workbench.plugins import hookimpl
from workbench.tuning.config import TuneConfig, TuneSettings, load_toml
from workbench.tuning.job_files import JobFolder

from .helpers import Recorder, ended_job, services, write_chat_jsonl

SETTINGS = TuneSettings(rank=4, alpha=8, learning_rate=1e-3, max_steps=8, batch_size=2,
                        max_length=64, val_fraction=0.25, checkpoint_every=2, eval_every=4)


def start(tuning, tmp_path, bundled_model, **options):
    config = TuneConfig(base_model=str(bundled_model),
                        data=(str(write_chat_jsonl(tmp_path / "d.jsonl")),), name="t",
                        settings=SETTINGS)
    recorder = Recorder()
    return config, recorder, tuning.start(config, tuning.plan(config), recorder, **options)


def job_watcher():
    """A plugin that keeps every job it is told has ended."""
    module = types.ModuleType("job_watcher")
    module.ended = []

    @hookimpl
    def tune_job_did_finish(job):
        module.ended.append((job.id, job.status))

    module.tune_job_did_finish = tune_job_did_finish
    return module


def test_crash_then_resume_then_cancel(tmp_path, bundled_model, workbench_plugins):
    watcher = job_watcher()
    store, models, tuning = services(workbench_plugins(watcher))
    try:
        _, first, run = start(tuning, tmp_path, bundled_model)

        def crash_after_a_checkpoint(event):
            if event.event == "checkpoint" and event.step >= 4:
                os.kill(run.process.pid, signal.SIGSEGV)

        first.on_event = crash_after_a_checkpoint
        job = ended_job(run, 300)
        assert job.status == "failed"
        assert "ended unexpectedly (SIGSEGV)" in job.error
        assert "checkpoint of step 4 is kept: resume the job to continue" in job.error
        assert 4 in JobFolder(job.artifacts["folder"]).checkpoint_steps()
        losses = [m for m in job.metrics if m.name == "loss"]
        assert watcher.ended == [(job.id, "failed")]
        assert [j.id for j in tuning.resumable()] == [job.id]

        second = Recorder()
        second.on_event = lambda e: e.event == "step" and e.step >= 6 and tuning.cancel(job.id)
        job = ended_job(tuning.resume(job.id, second), 300)
        start_event = next(e for e in second.events if e.event == "start")
        assert start_event.get("resumed") and start_event.step == 4
        assert next(e.step for e in second.events if e.event == "step") == 5
        assert job.status == "cancelled" and second.kinds()[-1] == "cancelled"
        cancelled_at = second.events[-1].step
        assert cancelled_at in JobFolder(job.artifacts["folder"]).checkpoint_steps()
        assert len([m for m in job.metrics if m.name == "loss"]) == len(losses) + cancelled_at - 4
        assert any(m.name == "eval_loss" for m in job.metrics)
        assert watcher.ended[-1] == (job.id, "cancelled")
        assert [j.id for j in tuning.resumable()] == [job.id]  # cancelled: still resumable
    finally:
        models.close()
        store.close()


def test_cancel_as_the_trainer_starts_ends_the_job_cancelled(tmp_path, bundled_model):
    """The run's JobState is the trainer's one cancel flag: a cancel the moment the job has
    started reaches the real trainer process (however far its start-up got) and the job ends
    cancelled, stored so and resumable, never failed."""
    store, models, tuning = services()
    try:
        _, _, run = start(tuning, tmp_path, bundled_model)
        run.cancel()
        job = ended_job(run, 300)
        assert run.status == CANCELLED and job.status == "cancelled", job.error
        assert run.process.proc.returncode is not None  # the trainer has ended
        assert store.jobs.get(job.id).status == "cancelled"
        assert [j.id for j in tuning.resumable()] == [job.id]
    finally:
        models.close()
        store.close()


def test_a_trainer_that_does_not_stop_when_cancelled_is_killed_and_the_job_ends_cancelled(
        tmp_path, bundled_model):
    """A hung trainer (stopped with SIGSTOP, so it cannot take SIGTERM) is killed once the
    cancel's grace period is over; the job ends cancelled with why its last step has no
    checkpoint, and the one it has is kept."""
    store, models, tuning = services()
    try:
        _, recorder, run = start(tuning, tmp_path, bundled_model)
        run.process.cancel_grace_s = 1.0  # instead of a minute

        def hang_then_cancel(event):
            if event.event == "checkpoint" and not run.cancelled:
                os.kill(run.process.pid, signal.SIGSTOP)
                run.cancel()

        recorder.on_event = hang_then_cancel
        job = ended_job(run, 300)
        assert run.status == CANCELLED and job.status == "cancelled"
        assert run.process.proc.returncode == -signal.SIGKILL
        kept = JobFolder(job.artifacts["folder"]).checkpoint_steps()
        assert job.error.startswith("Cancelled at step ")
        assert "the trainer did not stop in time and was killed" in job.error
        assert f"The checkpoint of step {kept[-1]} is kept: resume the job" in job.error
        assert "cancelled" not in recorder.kinds()  # it never said so itself
    finally:
        models.close()
        store.close()


def test_out_of_memory_is_reported_and_the_session_survives(tmp_path, bundled_model):
    store, models, tuning = services()
    try:
        # A real allocation failure: the trainer's address space is capped just above the
        # loaded model, so the first training step cannot get its activations.
        _, _, run = start(tuning, tmp_path, bundled_model, memory_limit_bytes=64 << 20)
        job = ended_job(run, 300)
        assert job.status == "failed"
        assert job.error.startswith("The trainer ran out of memory at step 0: lower the batch "
                                    "size or the max length")
        assert store.jobs.get(job.id).status == "failed"  # stored; the database is fine
        assert len(store.jobs.list()) == 1
    finally:
        models.close()
        store.close()


def test_an_architecture_the_trainer_cannot_handle_is_refused_before_starting(tmp_path):
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    store, models, tuning = services()
    try:
        with pytest.raises(UnsupportedBaseError, match="does not handle the 'gpt2' architecture"):
            tuning.inspect_base(str(folder))
        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(b"")
        with pytest.raises(UnsupportedBaseError, match="only safetensors"):
            tuning.inspect_base(str(folder))
        assert store.jobs.list() == []
    finally:
        models.close()
        store.close()


def test_a_gguf_of_an_unsupported_architecture_is_refused(tmp_path):
    import gguf
    import numpy as np

    from workbench.tuning.base_model import inspect_base

    path = tmp_path / "bert.gguf"
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(UnsupportedBaseError, match="GGUF models of the 'bert' architecture"):
        inspect_base(path)


def test_toml_config_presets_overrides_and_typos(tmp_path):
    (tmp_path / "d.jsonl").write_text("")
    (tmp_path / "ok.toml").write_text(
        'base_model = "smollm2-135m-instruct"\ndata = "d.jsonl"\npreset = "balanced"\n'
        '[training]\nmax_steps = 5\n[lora]\nrank = 4\ntargets = ["q_proj", "v_proj"]\n')
    config = load_toml(tmp_path / "ok.toml")
    assert config.data == (str(tmp_path / "d.jsonl"),)
    assert (config.settings.rank, config.settings.alpha) == (4, 32)  # alpha from the preset
    assert config.settings.max_steps == 5 and config.settings.targets == ("q_proj", "v_proj")
    assert TuneConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config

    cases = {
        '[training]\nlearnig_rate = 1\n': "Unknown keys in the tune config: training.learnig_rate",
        '[lora]\nrank = 0\n': "rank must be at least 1",
        '[lora]\ntargets = ["lm_head"]\n': "not lm_head",
        'preset = "huge"\n': "Unknown preset 'huge'",
        '[training]\nmax_length = 4\n': "max_length must be at least 8",
    }
    for body, message in cases.items():
        (tmp_path / "bad.toml").write_text(f'base_model = "x"\ndata = "d.jsonl"\n{body}')
        with pytest.raises((TuneConfigError, UnsupportedBaseError), match=message):
            load_toml(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text("base_model = \n")
    with pytest.raises(TuneConfigError, match="is not valid TOML"):
        load_toml(tmp_path / "broken.toml")
