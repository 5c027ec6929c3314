"""The training step's forward as a module, so a data-parallel wrapper (DDP) can run it.

DDP hooks gradient all-reduce into the module it wraps and expects the forward to go through
that module; the loss is computed only at trained positions (train_loop.summed_loss).
"""

from __future__ import annotations

import torch

from .train_loop import summed_loss


class TrainedTokenLoss(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, mask, sel_row, sel_pos, targets):
        return summed_loss(self.model, (ids, mask, sel_row, sel_pos, targets))[0]
