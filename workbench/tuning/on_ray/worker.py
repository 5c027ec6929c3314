"""What each Ray Train worker runs: the trainer's own loop (trainer/train_loop.py) in a team.

The job's spec and token rows come in the train loop config (the cluster needs no copy of the
job folder); each worker writes them to a staging job folder of its own, so the loop reads and
writes exactly what it does in the local trainer process. The chief (rank 0) writes
checkpoints and the adapter there and hands them to Ray Train (``ray.train.report``), which
persists them under the job's storage path; every worker reports, as Ray Train requires.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from contextlib import nullcontext
from pathlib import Path

import ray
import ray.train

from ...core.errors import WorkbenchError
from ..job_files import JobFolder
from ..progress import TrainerEvent
from ..trainer.team import fair_share

STEP_NAME = re.compile(r"step-(\d+)$")


class RayTeam:
    """One worker of the Ray Train team (see trainer/team.py for the questions it answers)."""

    def __init__(self, channel, checkpoint_root: str):
        context = ray.train.get_context()
        self.rank = context.get_world_rank()
        self.world = context.get_world_size()
        self.chief = self.rank == 0
        self.channel = channel
        self.checkpoint_root = checkpoint_root  # where Ray persists this run's checkpoints

    def device(self, name: str):
        import ray.train.torch

        return ray.train.torch.get_device()

    def wrap(self, module):
        import ray.train.torch

        # DDP over gloo (CPU) or NCCL (GPU) when the team has more than one worker.
        return ray.train.torch.prepare_model(module, parallel_strategy="ddp")

    def share(self, window: list[list[int]]) -> list[tuple[list[int], float]]:
        return fair_share(window, self.rank, self.world)

    def sync_grads(self, module, last: bool):
        # Accumulating micro-batches: gradients are all-reduced once, at the last backward.
        return module.no_sync() if self.world > 1 and not last else nullcontext()

    def agree(self, loss: float) -> tuple[float, bool]:
        """The team's loss of the step (sum of the workers' shares) and whether to stop: one
        all-reduce, so every worker stops after the same step."""
        import torch
        import torch.distributed as dist

        stop = self.chief and ray.get(self.channel.stop_requested.remote())
        both = torch.tensor([loss, 1.0 if stop else 0.0], dtype=torch.float64)
        if self.world > 1:
            dist.all_reduce(both)
        return float(both[0]), bool(both[1] > 0)

    def checkpointed(self, step: int, path: Path | None) -> str:
        from ray.train import Checkpoint

        name = f"step-{step:06d}"
        ray.train.report({"step": step}, checkpoint_dir_name=name,
                         checkpoint=Checkpoint.from_directory(str(path)) if path else None)
        return f"{self.checkpoint_root.rstrip('/')}/{name}"

    def finished(self, step: int, adapter: Path) -> None:
        from ray.train import Checkpoint

        ray.train.report({"step": step, "adapter": 1}, checkpoint_dir_name="adapter",
                         checkpoint=Checkpoint.from_directory(str(adapter)) if self.chief
                         else None)

    def emit(self, event: TrainerEvent) -> None:
        if not self.chief:
            return
        pushed = self.channel.push.remote(event.encode())
        if event.event in ("done", "cancelled", "error"):
            ray.get(pushed)  # delivered before the worker returns


def restore_checkpoint(staging: JobFolder, resume_from: str | None) -> None:
    """The job's latest checkpoint (a resumed job) into the staging folder.

    ``resume_from`` is the newest checkpoint the driver saw persisted (the job folder's
    pointer); Ray Train's own record of the run can lag one behind when a worker died just
    after a checkpoint, so it is only the fallback."""
    from ray.train import Checkpoint

    checkpoint = Checkpoint(resume_from) if resume_from else ray.train.get_checkpoint()
    if checkpoint is None:
        return
    match = STEP_NAME.search(checkpoint.path.rstrip("/"))
    checkpoint.to_directory(str(staging.checkpoint(int(match.group(1)) if match else 0)))


def train_on_worker(config: dict) -> None:
    """The train loop per worker (TorchTrainer's ``train_loop_per_worker``)."""
    from ..trainer.train_loop import train

    team = RayTeam(config["channel"], config["checkpoint_root"])
    staging = JobFolder(Path(tempfile.mkdtemp(prefix=f"workbench-ray-rank{team.rank}-")))
    try:
        staging.create(config["spec"], config["train_rows"], config["val_rows"])
        restore_checkpoint(staging, config.get("resume_from"))
        device = str(team.device("auto"))
        ray.get(team.channel.hello.remote(team.rank, {
            "pid": os.getpid(), "host": socket.gethostname(), "device": device}))
        try:
            train(staging, config["spec"], team.emit, team)
        except WorkbenchError as error:
            team.emit(TrainerEvent("error", 0, {"kind": "config", "message": str(error)}))
            raise
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)
