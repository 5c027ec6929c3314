"""How many optimizer steps a job takes, when it evaluates and checkpoints, and its learning
rate at each step: numbers read from the job's settings and its rows, before any torch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .batches import length_grouped_batches


@dataclass(frozen=True)
class StepPlan:
    total: int  # optimizer steps
    window_size: int  # micro-batches per optimizer step, for the whole team
    eval_every: int
    checkpoint_every: int
    warmup: int  # steps of linear warm-up

    @classmethod
    def of(cls, settings: dict, lengths: Sequence[int], world: int) -> StepPlan:
        """``settings``: the job's TuneSettings as a dict; ``lengths``: each training row's
        tokens; ``world``: the workers training together (1 for the local trainer)."""
        window_size = settings["grad_accum"] * world
        batches = len(length_grouped_batches(lengths, settings["batch_size"], 0, 0))
        per_epoch = math.ceil(batches / window_size)
        total = settings["max_steps"] or max(1, math.ceil(settings["epochs"] * per_epoch))
        return cls(total=total, window_size=window_size,
                   eval_every=settings["eval_every"] or max(1, total // 10),
                   checkpoint_every=settings["checkpoint_every"] or max(1, total // 5),
                   warmup=int(total * settings["warmup_ratio"]))

    def learning_rate_factor(self, index: int) -> float:
        """The learning rate's share at scheduler step ``index``: a linear warm-up, then a
        linear decay to zero at the last step."""
        if index < self.warmup:
            return (index + 1) / self.warmup
        return max(0.0, (self.total - index) / max(1, self.total - self.warmup))

    def evaluates_after(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.total

    def checkpoints_after(self, step: int) -> bool:
        return step % self.checkpoint_every == 0
