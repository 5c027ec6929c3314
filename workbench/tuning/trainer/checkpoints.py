"""Checkpoints of a running job (trainer process only): adapter weights and optimizer state.

Written under a temporary name and renamed, so a trainer killed mid-write leaves the earlier
checkpoints intact and never a half one; the last ``KEEP`` are kept. The trainer state is read
back with ``weights_only=True``: it holds only tensors, numbers, lists and dicts, so a checkpoint
folder someone else wrote cannot run code in the trainer through pickle.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from ...core.tuning_errors import TuningError
from ..job_files import JobFolder

KEEP = 2
WEIGHTS = "adapter_weights.safetensors"
STATE = "trainer_state.pt"


def save_checkpoint(folder: JobFolder, step: int, model, optimizer, scheduler,
                    position: dict) -> Path:
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = folder.checkpoint(step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(tmp / WEIGHTS))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "position": position, "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate()}, tmp / STATE)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in folder.checkpoint_steps()[:-KEEP]:
        shutil.rmtree(folder.checkpoint(old), ignore_errors=True)
    return final


def load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    """Restore weights and optimizer; return the saved position (step, epoch, batch)."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = _read_state(path / STATE)  # first: a refused checkpoint leaves the model untouched
    set_peft_model_state_dict(model, load_file(str(path / WEIGHTS)))
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    return state["position"]


def _read_state(path: Path) -> dict:
    """Optimizer, scheduler and RNG state; refuses pickled objects instead of running them."""
    import pickle

    import torch

    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message is paragraphs of advice; the line naming the refused global is the news
        lines = [line for line in str(error).splitlines() if "GLOBAL" in line]
        detail = f" ({lines[0].strip().rstrip('.')})" if lines else ""
        raise TuningError(f"Cannot resume from checkpoint {path}: it holds objects other than "
                          f"tensors and plain data, which are refused{detail}.") from None
