"""How long a tune job will take and how much memory it needs, before it starts.

Rough by design (±50 %), from the model's shape and the prepared data:

* time: a LoRA step costs about 4 × parameters × tokens FLOPs (forward, plus the backward
  pass through the frozen weights for the input gradients, without weight gradients; the
  embedding table is a lookup and not counted), at a throughput measured for this trainer:
  ~45 GFLOP/s per CPU core (SmolLM2-135M trained at ~230 tokens/s on 2 AVX-512 cores);
  GPUs are taken as 20 TFLOP/s.
* memory: float32 weights, the LoRA weights with their gradients and Adam's two moments,
  activations kept for the backward pass (~34 values per hidden unit per token and layer, as
  in Korthikanti et al. for a transformer block without recomputation), and the logits of the
  trained positions.
* on a Ray cluster (``workers`` > 1): each worker holds the whole model and one micro-batch,
  so the memory is per worker; an optimizer step takes batch × accumulation × workers rows
  (the effective batch) and the workers share its compute.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.wording import counted
from .base_model import BaseInfo
from .config import TuneSettings

CPU_FLOPS_PER_CORE = 45e9
GPU_FLOPS = 20e12
RUNTIME_OVERHEAD = 1.2 * 2**30  # torch, transformers and Python themselves


@dataclass(frozen=True)
class Estimate:
    steps: int
    tokens: int  # tokens processed over the whole job
    seconds: float
    memory_bytes: int
    lora_parameters: int
    workers: int = 1
    effective_batch: int = 0  # rows per optimizer step, all workers together

    def describe(self) -> str:
        minutes = self.seconds / 60
        span = f"{self.seconds:.0f} s" if minutes < 2 else f"{minutes:.0f} min"
        memory = f"{self.memory_bytes / 2**30:.1f} GiB of memory"
        if self.workers > 1:
            memory += (f" per worker ({counted(self.workers, 'worker')}, effective batch "
                       f"{self.effective_batch})")
        return (f"{counted(self.steps, 'step')}, {counted(self.tokens, 'token')}: about {span} and "
                f"{memory} ({self.lora_parameters:,} trainable parameters)")


def lora_parameters(base: BaseInfo, settings: TuneSettings) -> int:
    h = base.hidden_size
    kv = h * base.n_head_kv // max(base.n_head, 1)
    inter = intermediate_size(base)
    shapes = {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h),
              "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    per_layer = sum(settings.rank * sum(shapes[t]) for t in settings.targets)
    return per_layer * base.n_layers


def intermediate_size(base: BaseInfo) -> int:
    """From the parameter count: what the layers hold beyond attention is the MLP (3 × h × i)."""
    h, kv = base.hidden_size, base.hidden_size * base.n_head_kv // max(base.n_head, 1)
    per_layer = (base.parameter_count - base.vocab_size * h) / max(base.n_layers, 1)
    return max(h, int((per_layer - 2 * h * h - 2 * h * kv) / (3 * h)))


def estimate(base: BaseInfo, settings: TuneSettings, train_lengths: Sequence[int],
             device: str = "cpu", threads: int | None = None, workers: int = 1) -> Estimate:
    rows = max(len(train_lengths), 1)
    window = settings.grad_accum * workers  # micro-batches per optimizer step
    per_epoch = math.ceil(math.ceil(rows / settings.batch_size) / window)
    steps = settings.max_steps or max(1, math.ceil(settings.epochs * per_epoch))
    mean_length = sum(train_lengths) / rows if train_lengths else settings.max_length / 2
    tokens = int(steps * settings.batch_size * window * mean_length)
    flops = 4 * max(base.parameter_count - base.vocab_size * base.hidden_size, 1) * tokens
    speed = GPU_FLOPS if device in ("cuda", "mps") else (
        CPU_FLOPS_PER_CORE * (threads or os.cpu_count() or 1)) * workers
    longest = min(max(train_lengths, default=settings.max_length), settings.max_length)
    batch_tokens = settings.batch_size * longest
    activations = 34 * base.hidden_size * base.n_layers * batch_tokens * 4
    logits = batch_tokens * base.vocab_size * 4 * 2  # values and their gradient
    lora = lora_parameters(base, settings)
    memory = base.parameter_count * 4 + lora * 16 + activations + logits + RUNTIME_OVERHEAD
    return Estimate(steps, tokens, flops / speed, int(memory), lora, workers,
                    settings.batch_size * window)
