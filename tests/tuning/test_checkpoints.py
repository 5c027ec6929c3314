"""Checkpoint state is read without unpickling objects: a planted one is refused, never run."""

from __future__ import annotations

import os

import pytest

from workbench.core.tuning_errors import TuningError
from workbench.tuning.trainer.checkpoints import STATE, load_checkpoint


class Planted:
    """Unpickling this would create a folder: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_checkpoint_carrying_a_pickled_object_is_refused_not_run(tmp_path):
    import torch

    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / "step-000004"
    checkpoint.mkdir()
    torch.save({"optimizer": {}, "scheduler": {}, "position": {"step": 4},
                "payload": Planted(marker)}, checkpoint / STATE)
    with pytest.raises(TuningError, match=r"^Cannot resume from checkpoint .*step-000004/"
                                          r"trainer_state\.pt: it holds objects other than "
                                          r"tensors and plain data, which are refused "
                                          r"\(Trying to load unsupported GLOBAL posix\.mkdir"):
        load_checkpoint(checkpoint, model=None, optimizer=None, scheduler=None)
    assert not marker.exists()


def test_plain_trainer_state_still_loads(tmp_path):
    """What save_checkpoint writes (tensors, numbers, the RNG tuples) passes the safe loader."""
    import random

    import torch

    from workbench.tuning.trainer.checkpoints import _read_state

    state = {"optimizer": {"state": {0: {"exp_avg": torch.ones(2)}}, "param_groups": [
        {"lr": 1e-3, "betas": (0.9, 0.999), "foreach": None, "params": [0]}]},
        "scheduler": {"last_epoch": 4, "lr_lambdas": [None], "_last_lr": [1e-3]},
        "position": {"step": 4, "epoch": 0, "batch": 4},
        "torch_rng": torch.get_rng_state(), "python_rng": random.getstate()}
    torch.save(state, tmp_path / STATE)
    loaded = _read_state(tmp_path / STATE)
    assert loaded["position"] == {"step": 4, "epoch": 0, "batch": 4}
    assert loaded["python_rng"] == random.getstate()
    assert torch.equal(loaded["torch_rng"], state["torch_rng"])
