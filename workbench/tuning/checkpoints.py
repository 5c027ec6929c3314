"""Checkpoints of a running job (trainer process only): adapter weights and optimizer state.

Written under a temporary name and renamed, so a trainer killed mid-write leaves the earlier
checkpoints intact and never a half one; the last ``KEEP`` are kept.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from .job_files import JobFolder

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

    set_peft_model_state_dict(model, load_file(str(path / WEIGHTS)))
    state = torch.load(path / STATE, weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    return state["position"]
