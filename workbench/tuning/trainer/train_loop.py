"""The training loop of the trainer process: LoRA on a causal LM, plain torch.

Faster than a generic Trainer on the same data for two reasons, both about not computing what
is thrown away: batches group rows of similar length (little padding), and the vocabulary
projection runs only at the positions that are trained on (the answers), not at every prompt
and padding position. The loss is the mean over every trained token of an optimizer step,
whatever the batch split, so gradient accumulation changes nothing but memory.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

from ..device import training_device_line
from ..gguf_lora import BaseShape
from ..job_files import JobFolder, read_rows
from ..progress import TrainerEvent
from .batches import length_grouped_batches
from .checkpoints import load_checkpoint, save_checkpoint

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
    import torch

    from .hf_model import add_lora, base_shape, load_model
    from .loss_module import TrainedTokenLoss
    from .team import Solo

    team = team or Solo(Stop)
    s = spec["settings"]
    torch.set_num_threads(int(s.get("threads") or torch.get_num_threads()))
    torch.manual_seed(s["seed"])
    device = team.device(s["device"])
    device_note = training_device_line(s["device"])
    print(device_note, file=sys.stderr, flush=True)  # the job's log (trainer.log)
    model = load_model(spec["base_path"])
    shape: BaseShape = base_shape(model)
    model.config.use_cache = False
    model = add_lora(model, rank=s["rank"], alpha=s["alpha"], dropout=s["dropout"],
                     targets=tuple(s["targets"])).to(device)
    model.train()
    _apply_memory_limit(spec)
    train_rows, val_rows = read_rows(folder.train), read_rows(folder.val)
    lengths = [len(r["ids"]) for r in train_rows]
    window_size = s["grad_accum"] * team.world  # micro-batches per optimizer step, whole team
    per_epoch = math.ceil(len(length_grouped_batches(lengths, s["batch_size"], 0, 0))
                          / window_size)
    total = s["max_steps"] or max(1, math.ceil(s["epochs"] * per_epoch))
    eval_every = s["eval_every"] or max(1, total // 10)
    checkpoint_every = s["checkpoint_every"] or max(1, total // 5)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=s["learning_rate"], weight_decay=s["weight_decay"])
    warmup = int(total * s["warmup_ratio"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: (
        (i + 1) / warmup if i < warmup else max(0.0, (total - i) / max(1, total - warmup))))
    position = {"step": 0, "epoch": 0, "batch": 0}
    latest = folder.latest_checkpoint()
    if latest is not None:
        position = load_checkpoint(latest, model, optimizer, scheduler)
    stepper = team.wrap(TrainedTokenLoss(model))  # DDP in a team: gradients summed in backward
    emit(TrainerEvent("start", position["step"], {
        "total_steps": total, "train_rows": len(train_rows), "val_rows": len(val_rows),
        "device": str(device), "device_note": device_note, "resumed": latest is not None,
        "trainable_parameters": sum(p.numel() for p in params), "workers": team.world}))
    step_time, started = None, time.perf_counter()
    last_saved = position["step"]
    while position["step"] < total:
        batches = length_grouped_batches(lengths, s["batch_size"], s["seed"], position["epoch"])
        while position["batch"] < len(batches) and position["step"] < total:
            tick = time.perf_counter()
            window = batches[position["batch"]:position["batch"] + window_size]
            # The loss of a step is the mean over every trained token of the whole window, so
            # each worker divides its sum by the window's count; DDP averages over the team,
            # hence the factor ``world``: the team's gradient is one process's gradient.
            trained = sum(trained_tokens(train_rows[i]) for b in window for i in b) or 1
            mine = team.share(window)
            loss_sum = 0.0
            for k, (indices, weight) in enumerate(mine):
                batch = make_batch([train_rows[i] for i in indices], device)
                with team.sync_grads(stepper, last=k == len(mine) - 1):
                    loss = stepper(*batch)
                    (loss * (weight * team.world / trained)).backward()
                loss_sum += weight * float(loss.detach())
            loss_value, stop = team.agree(loss_sum / trained)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            position = {"step": position["step"] + 1, "epoch": position["epoch"],
                        "batch": position["batch"] + len(window)}
            elapsed = time.perf_counter() - tick
            step_time = elapsed if step_time is None else 0.8 * step_time + 0.2 * elapsed
            tokens = sum(len(train_rows[i]["ids"]) for b in window for i in b)
            step = position["step"]
            emit(TrainerEvent("step", step, {
                "loss": loss_value, "lr": scheduler.get_last_lr()[0],
                "tokens_per_second": tokens / elapsed, "tokens": tokens,
                "eta_s": step_time * (total - step), "elapsed_s": time.perf_counter() - started,
                "epoch": position["epoch"] + position["batch"] / len(batches),
                "workers": team.world}))
            if team.chief and (step % eval_every == 0 or step == total):
                eval_loss = evaluate(model, val_rows, s["batch_size"], device)
                if eval_loss is not None:
                    emit(TrainerEvent("eval", step, {"eval_loss": eval_loss}))
            if step % checkpoint_every == 0 or stop:
                path = (save_checkpoint(folder, step, model, optimizer, scheduler, position)
                        if team.chief else None)
                path = team.checkpointed(step, path)
                last_saved = step
                emit(TrainerEvent("checkpoint", step, {"path": path}))
            if stop:
                emit(TrainerEvent("cancelled", step, {"checkpoint": path}))
                return
        if position["batch"] >= len(batches):
            position = {"step": position["step"], "epoch": position["epoch"] + 1, "batch": 0}
    if last_saved != position["step"]:
        path = (save_checkpoint(folder, position["step"], model, optimizer, scheduler, position)
                if team.chief else None)
        team.checkpointed(position["step"], path)
    if team.chief:
        model.save_pretrained(str(folder.adapter))
        shape.save(folder.adapter)
    team.finished(position["step"], folder.adapter)
    emit(TrainerEvent("done", position["step"], {"adapter": str(folder.adapter)}))


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
