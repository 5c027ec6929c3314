"""Training speed: the workbench trainer vs transformers' Trainer + peft, same data, one run.

Both train the same LoRA (rank 8 on q/k/v/o, lr 1e-4, batch 4, the same steps) on the bundled
SmolLM2 model over the same token rows: chat examples whose answers vary from a few words to a
few hundred tokens (rendered with the model's template, tokenized by llama.cpp, answers only
trained). Training tokens/s counts real (non-padding) tokens of the batches, measured from the
second step on so that model loading and warm-up are left out.

The baseline is what a tutorial does: Trainer with a padding collator and default sampling.
The workbench trainer groups rows by length and projects to the vocabulary only at trained
positions.

    .venv/bin/python tests/bench/bench_tune.py [--steps 16] [--rows 64]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # both sides alike; see tuning/runner.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.timing import training_tokens_per_s
from workbench.core.messages import ChatMessage
from workbench.core.model_info import LoadSettings
from workbench.engine.host.client import ModelHost
from workbench.library.bundled import bundled_model_path
from workbench.tuning.base_tokenizer import HostTokenizer
from workbench.tuning.config import TuneSettings
from workbench.tuning.formats import Example
from workbench.tuning.job_files import JobFolder
from workbench.tuning.rows import prepare
from workbench.tuning.runner import TrainerProcess

WORDS = ["lantern", "harbor", "copper", "meadow", "signal", "orbit", "velvet", "cipher",
         "quartz", "ember", "tide", "falcon", "granite", "willow", "prism", "beacon"]


def examples(n: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        length = int(rng.lognormvariate(3.6, 0.9))  # a few to a few hundred words
        answer = " ".join(rng.choice(WORDS) for _ in range(max(2, min(length, 300))))
        rows.append(Example((ChatMessage("user", f"Write item {i} of the list."),
                             ChatMessage("assistant", answer)), "bench", i + 1))
    return rows


def token_rows(model: Path, n: int, max_length: int):
    with tempfile.TemporaryDirectory() as logs:
        host = ModelHost(LoadSettings(str(model), n_ctx=2048), logs_dir=Path(logs))
        host.start()
        try:
            return [r.to_wire() for r in prepare(HostTokenizer(host), examples(n),
                                                 max_length).rows]
        finally:
            host.close()


def workbench_speed(model: Path, rows, settings: TuneSettings, root: Path) -> float:
    folder = JobFolder(root / "job")
    folder.create({"job_id": "bench", "base_path": str(model), "settings": asdict(settings)},
                  rows, [])
    return training_tokens_per_s(TrainerProcess(folder).start(), "trainer")


def baseline_speed(model: Path, rows, settings: TuneSettings, root: Path) -> float:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from workbench.tuning.trainer.hf_model import load_model

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return len(rows)

        def __getitem__(self, i):
            ids, labels = rows[i]["ids"], [-100] * len(rows[i]["ids"])
            for start, end in rows[i]["spans"]:
                labels[start:end] = ids[start:end]
            return {"input_ids": ids, "labels": labels}

    def collate(batch):
        width = max(len(b["input_ids"]) for b in batch)
        pad = lambda seq, value: seq + [value] * (width - len(seq))
        return {"input_ids": torch.tensor([pad(b["input_ids"], 0) for b in batch]),
                "labels": torch.tensor([pad(b["labels"], -100) for b in batch]),
                "attention_mask": torch.tensor([pad([1] * len(b["input_ids"]), 0)
                                                for b in batch])}

    class Meter(TrainerCallback):
        tokens = seconds = 0.0
        step = 0

        def on_step_begin(self, args, state, control, **kw):
            self.tick = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            self.step += 1
            if self.step >= 2:
                self.seconds += time.perf_counter() - self.tick

    meter = Meter()
    base = load_model(model)
    # transformers marks a GGUF-loaded model as "quantized" and Trainer refuses it; its weights
    # are plain float32 after dequantization, so drop the mark.
    base.hf_quantizer, base.is_quantized = None, False
    model_ = get_peft_model(base, LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=list(settings.targets), task_type="CAUSAL_LM"))
    seen: list[int] = []
    original = collate

    def counting(batch):
        seen.append(sum(len(b["input_ids"]) for b in batch))
        return original(batch)

    args = TrainingArguments(output_dir=str(root / "hf"), per_device_train_batch_size=
                             settings.batch_size, learning_rate=settings.learning_rate,
                             max_steps=settings.max_steps, logging_steps=1000, save_strategy="no",
                             report_to=[], use_cpu=True, seed=settings.seed,
                             dataloader_num_workers=0, disable_tqdm=True)
    Trainer(model=model_, args=args, train_dataset=Rows(), data_collator=counting,
            callbacks=[meter]).train()
    return sum(seen[1:settings.max_steps]) / meter.seconds


def arguments(steps: int) -> argparse.Namespace:
    """--steps (default ``steps``) and --rows, as both tune benches take them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--rows", type=int, default=64)
    return parser.parse_args()


def bench_settings(steps: int, **changes) -> TuneSettings:
    """The tune benches' job: rank 8 on q/k/v/o, lr 1e-4, batch 4, rows of up to 512
    tokens, no checkpoints, evaluations or validation rows to slow it."""
    return TuneSettings(rank=8, alpha=16, dropout=0.0, learning_rate=1e-4, max_steps=steps,
                        batch_size=4, max_length=512, checkpoint_every=10**6,
                        eval_every=10**6, val_fraction=0.0, **changes)


def main() -> None:
    args = arguments(steps=16)
    model = bundled_model_path()
    settings = bench_settings(args.steps)
    rows = token_rows(model, args.rows, settings.max_length)
    lengths = sorted(len(r["ids"]) for r in rows)
    print(f"{len(rows)} rows, tokens per row: min {lengths[0]}, median "
          f"{lengths[len(lengths) // 2]}, max {lengths[-1]}; {args.steps} steps of batch 4")
    with tempfile.TemporaryDirectory() as tmp:
        ours = workbench_speed(model, rows, settings, Path(tmp))
        print(f"workbench trainer:        {ours:8.1f} training tokens/s", flush=True)
        theirs = baseline_speed(model, rows, settings, Path(tmp))
        print(f"transformers Trainer+peft: {theirs:8.1f} training tokens/s")
    print(f"ratio (workbench / baseline): {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
