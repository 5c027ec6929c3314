"""Who trains together: the trainer process alone, or one worker of a data-parallel team.

The training step (train_loop.py) is the same code for both; a team answers the few questions
that differ: which device, which micro-batches of an optimizer step are this worker's, how
workers agree on the step's loss and on stopping, and where checkpoints and the adapter go.
``Solo`` is the local trainer process; ``workbench.tuning.on_ray.worker.RayTeam`` is a Ray
Train worker. Data parallelism never changes what is learned: every worker sees the whole
window of micro-batches of a step and takes its share of them, so the gradient summed over the
team equals the gradient one process computes over the same window.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path


def fair_share(window: list[list[int]], rank: int, world: int) -> list[tuple[list[int], float]]:
    """This worker's micro-batches of one optimizer step, each with its weight.

    Worker ``rank`` takes batches rank, rank + world, ...; every worker runs the same number of
    micro-batches (a DDP collective runs in each forward and backward, and unequal counts would
    hang the team), so a worker left short repeats the window's first batch with weight 0.
    """
    mine = [(batch, 1.0) for batch in window[rank::world]]
    rounds = -(-len(window) // world)
    return mine + [(window[0], 0.0)] * (rounds - len(mine))


class Solo:
    """The local trainer process: one worker, its own checkpoints in the job folder."""

    rank = 0
    world = 1
    chief = True

    def __init__(self, stop):
        self.stop = stop  # the class whose ``requested`` the SIGTERM handler sets

    def device(self, name: str):
        from .train_loop import pick_device

        return pick_device(name)

    def wrap(self, module):
        return module

    def share(self, window: list[list[int]]) -> list[tuple[list[int], float]]:
        return fair_share(window, 0, 1)

    def sync_grads(self, module, last: bool):
        return nullcontext()

    def agree(self, loss: float) -> tuple[float, bool]:
        return loss, bool(self.stop.requested)

    def checkpointed(self, step: int, path: Path | None) -> str:
        return str(path)

    def finished(self, step: int, adapter: Path) -> None:
        pass
