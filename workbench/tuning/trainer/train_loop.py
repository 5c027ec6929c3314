"""The training loop of the trainer process: LoRA on a causal LM, plain torch.

Faster than a generic Trainer on the same data for two reasons, both about not computing what
is thrown away: batches group rows of similar length (little padding), and the vocabulary
projection runs only at the positions that are trained on (the answers), not at every prompt
and padding position. The loss is the mean over every trained token of an optimizer step,
whatever the batch split, so gradient accumulation changes nothing but memory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from ..device import training_device_line
from ..gguf_lora import BaseShape
from ..job_files import JobFolder, read_rows
from ..progress import TrainerEvent
from .batches import length_grouped_batches
from .checkpoints import load_checkpoint, save_checkpoint
from .step_plan import StepPlan

Emit = Callable[[TrainerEvent], None]


class Stop:
    """Set from the SIGTERM handler: finish the step, checkpoint, leave (Solo reads it)."""

    requested = False


def pick_device(name: str):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    return torch.device(name)


def make_batch(rows: list[dict], device):
    """Right-padded ids, the mask, and (row, position, target) of every trained token."""
    import torch

    width = max(len(r["ids"]) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    sel_row, sel_pos, targets = [], [], []
    for i, row in enumerate(rows):
        ids[i, : len(row["ids"])] = torch.tensor(row["ids"])
        mask[i, : len(row["ids"])] = 1
        for start, end in row["spans"]:
            for p in range(max(start, 1), end):  # the token at p is predicted at p - 1
                sel_row.append(i)
                sel_pos.append(p - 1)
                targets.append(row["ids"][p])
    return (ids.to(device), mask.to(device), torch.tensor(sel_row, device=device),
            torch.tensor(sel_pos, device=device), torch.tensor(targets, device=device))


def summed_loss(model, batch):
    """Cross-entropy summed over the trained tokens of one batch, and their count."""
    import torch.nn.functional as F

    ids, mask, sel_row, sel_pos, targets = batch
    base = model.get_base_model()
    hidden = base.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    logits = base.get_output_embeddings()(hidden[sel_row, sel_pos])
    return F.cross_entropy(logits.float(), targets, reduction="sum"), len(targets)


def evaluate(model, rows: list[dict], batch_size: int, device) -> float | None:
    import torch

    if not rows:
        return None
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(rows, key=lambda r: len(r["ids"]))
    with torch.inference_mode():
        for start in range(0, len(ordered), batch_size):
            loss, n = summed_loss(model, make_batch(ordered[start:start + batch_size], device))
            total, count = total + float(loss), count + n
    model.train()
    return total / max(count, 1)


def trained_tokens(row: dict) -> int:
    """How many tokens of a row are trained on (as make_batch selects them)."""
    return sum(max(0, end - max(start, 1)) for start, end in row["spans"])


def train(folder: JobFolder, spec: dict, emit: Emit, team=None) -> None:
    """Train the job in ``folder``; ``team`` is Solo (this process alone) or a worker of a
    data-parallel team (team.py): the step below is the same for both."""
    from .team import Solo

    training = Training(folder, spec, emit, team or Solo(Stop))
    training.announce()
    if training.run():
        training.finish()


class Training:
    """One job being trained: the LoRA model, its optimizer and schedule, and where in the
    data it is (``position``: step, epoch, batch of the epoch; what a checkpoint keeps)."""

    def __init__(self, folder: JobFolder, spec: dict, emit: Emit, team):
        import torch

        from .loss_module import TrainedTokenLoss

        self.folder, self.emit, self.team = folder, emit, team
        s = self.settings = spec["settings"]
        torch.set_num_threads(int(s.get("threads") or torch.get_num_threads()))
        torch.manual_seed(s["seed"])  # before the LoRA weights are drawn
        self.device = team.device(s["device"])
        self.device_note = training_device_line(s["device"])
        print(self.device_note, file=sys.stderr, flush=True)  # the job's log (trainer.log)
        self.model, self.shape = _lora_model(spec, self.device)
        _apply_memory_limit(spec)
        self.train_rows, self.val_rows = read_rows(folder.train), read_rows(folder.val)
        self.lengths = [len(r["ids"]) for r in self.train_rows]
        self.plan = StepPlan.of(s, self.lengths, team.world)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer, self.scheduler = _optimizer(self.params, s, self.plan)
        latest = folder.latest_checkpoint()
        self.resumed = latest is not None
        self.position = {"step": 0, "epoch": 0, "batch": 0}
        if latest is not None:
            self.position = load_checkpoint(latest, self.model, self.optimizer, self.scheduler)
        self.last_saved = self.position["step"]
        # DDP in a team: the gradients are summed over the workers in backward.
        self.stepper = team.wrap(TrainedTokenLoss(self.model))
        self.step_time: float | None = None  # a moving average of a step's seconds
        self.started = time.perf_counter()

    def announce(self) -> None:
        self.emit(TrainerEvent("start", self.position["step"], {
            "total_steps": self.plan.total, "train_rows": len(self.train_rows),
            "val_rows": len(self.val_rows), "device": str(self.device),
            "device_note": self.device_note, "resumed": self.resumed,
            "trainable_parameters": sum(p.numel() for p in self.params),
            "workers": self.team.world}))
        self.started = time.perf_counter()

    def run(self) -> bool:
        """Step to the plan's end, an epoch's batches at a time; False when the team agreed
        to stop (after a checkpoint)."""
        s = self.settings
        while self.position["step"] < self.plan.total:
            batches = length_grouped_batches(self.lengths, s["batch_size"], s["seed"],
                                             self.position["epoch"])
            while self.position["batch"] < len(batches) and self.position["step"] < self.plan.total:
                if not self.step(batches):
                    return False
            if self.position["batch"] >= len(batches):
                self.position = {"step": self.position["step"],
                                 "epoch": self.position["epoch"] + 1, "batch": 0}
        return True

    def step(self, batches: list[list[int]]) -> bool:
        """One optimizer step over the next window of ``batches``, told, then evaluated and
        checkpointed when the plan says; False when the team agreed to stop."""
        tick = time.perf_counter()
        start = self.position["batch"]
        window = batches[start:start + self.plan.window_size]
        loss, stop = self._optimize(window)
        self.position = {"step": self.position["step"] + 1, "epoch": self.position["epoch"],
                         "batch": start + len(window)}
        self._tell_step(window, loss, time.perf_counter() - tick, len(batches))
        step = self.position["step"]
        if self.team.chief and self.plan.evaluates_after(step):
            eval_loss = evaluate(self.model, self.val_rows, self.settings["batch_size"],
                                 self.device)
            if eval_loss is not None:
                self.emit(TrainerEvent("eval", step, {"eval_loss": eval_loss}))
        if self.plan.checkpoints_after(step) or stop:
            path = self._save()
            self.emit(TrainerEvent("checkpoint", step, {"path": path}))
            if stop:
                self.emit(TrainerEvent("cancelled", step, {"checkpoint": path}))
                return False
        return True

    def _optimize(self, window: list[list[int]]) -> tuple[float, bool]:
        """Gradients of this worker's share of ``window``, one optimizer step; the step's
        loss and whether the team agreed to stop."""
        import torch

        team = self.team
        # The loss of a step is the mean over every trained token of the whole window, so
        # each worker divides its sum by the window's count; DDP averages over the team,
        # hence the factor ``world``: the team's gradient is one process's gradient.
        trained = sum(trained_tokens(self.train_rows[i]) for b in window for i in b) or 1
        mine = team.share(window)
        loss_sum = 0.0
        for k, (indices, weight) in enumerate(mine):
            batch = make_batch([self.train_rows[i] for i in indices], self.device)
            with team.sync_grads(self.stepper, last=k == len(mine) - 1):
                loss = self.stepper(*batch)
                (loss * (weight * team.world / trained)).backward()
            loss_sum += weight * float(loss.detach())
        loss_value, stop = team.agree(loss_sum / trained)
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, stop

    def _tell_step(self, window: list[list[int]], loss: float, elapsed: float,
                   epoch_batches: int) -> None:
        self.step_time = (elapsed if self.step_time is None
                          else 0.8 * self.step_time + 0.2 * elapsed)
        tokens = sum(len(self.train_rows[i]["ids"]) for b in window for i in b)
        step = self.position["step"]
        self.emit(TrainerEvent("step", step, {
            "loss": loss, "lr": self.scheduler.get_last_lr()[0],
            "tokens_per_second": tokens / elapsed, "tokens": tokens,
            "eta_s": self.step_time * (self.plan.total - step),
            "elapsed_s": time.perf_counter() - self.started,
            "epoch": self.position["epoch"] + self.position["batch"] / epoch_batches,
            "workers": self.team.world}))

    def _save(self) -> str:
        """A checkpoint at the current step (written by the chief, told to the team)."""
        step = self.position["step"]
        path = (save_checkpoint(self.folder, step, self.model, self.optimizer, self.scheduler,
                                self.position) if self.team.chief else None)
        self.last_saved = step
        return self.team.checkpointed(step, path)

    def finish(self) -> None:
        """The last checkpoint (unless the last step made one) and the adapter."""
        step = self.position["step"]
        if self.last_saved != step:
            self._save()
        if self.team.chief:
            self.model.save_pretrained(str(self.folder.adapter))
            self.shape.save(self.folder.adapter)
        self.team.finished(step, self.folder.adapter)
        self.emit(TrainerEvent("done", step, {"adapter": str(self.folder.adapter)}))


def _lora_model(spec: dict, device) -> tuple:
    """The base model with fresh LoRA layers on ``device``, in training mode, and the base's
    shape (what the GGUF export needs)."""
    from .hf_model import add_lora, base_shape, load_model

    s = spec["settings"]
    model = load_model(spec["base_path"])
    shape: BaseShape = base_shape(model)
    model.config.use_cache = False
    model = add_lora(model, rank=s["rank"], alpha=s["alpha"], dropout=s["dropout"],
                     targets=tuple(s["targets"])).to(device)
    model.train()
    return model, shape


def _apply_memory_limit(spec: dict) -> None:
    """Cap the address space (bytes above what is in use now): a real out-of-memory for tests
    and for users who want the trainer to fail rather than swap."""
    extra = spec.get("memory_limit_bytes")
    if not extra:
        return
    import resource

    with open("/proc/self/statm") as handle:
        in_use = int(handle.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (in_use + int(extra), resource.RLIM_INFINITY))


def _optimizer(params: list, settings: dict, plan: StepPlan) -> tuple:
    """AdamW over the LoRA weights, and its learning-rate schedule (the plan's)."""
    import torch

    optimizer = torch.optim.AdamW(params, lr=settings["learning_rate"],
                                  weight_decay=settings["weight_decay"])
    # A lambda, not the bound method: a scheduler's state (kept in checkpoints) leaves out
    # plain functions and lambdas only.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: plan.learning_rate_factor(i))
    return optimizer, scheduler
