"""The folder of one tune job: what the app hands the trainer and what the trainer leaves.

    job.json            the config, the resolved base model and the shape of the data
    train.jsonl         token rows {"ids": [...], "spans": [[start, end], ...]}
    val.jsonl           held-out rows (may be empty)
    checkpoints/step-N  adapter weights + optimizer state; complete ones only (atomic rename)
    adapter/            the final peft adapter (+ workbench_base.json)
    trainer.log         the trainer's stderr
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from ..engine.process import read_log_tail

CHECKPOINT = re.compile(r"^step-(\d+)$")


class JobFolder:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    spec = property(lambda self: self.root / "job.json")
    train = property(lambda self: self.root / "train.jsonl")
    val = property(lambda self: self.root / "val.jsonl")
    checkpoints = property(lambda self: self.root / "checkpoints")
    adapter = property(lambda self: self.root / "adapter")
    log = property(lambda self: self.root / "trainer.log")

    def create(self, spec: dict, train_rows: Iterable[dict], val_rows: Iterable[dict]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_rows(self.train, train_rows)
        write_rows(self.val, val_rows)
        self.spec.write_text(json.dumps(spec, indent=1))

    def read_spec(self) -> dict:
        return json.loads(self.spec.read_text())

    def checkpoint_steps(self) -> list[int]:
        if not self.checkpoints.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.checkpoints.iterdir()
                      if (m := CHECKPOINT.match(p.name)) and p.is_dir())

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:06d}"

    def latest_checkpoint(self) -> Path | None:
        steps = self.checkpoint_steps()
        return self.checkpoint(steps[-1]) if steps else None

    def log_tail(self, lines: int = 8) -> str:
        return read_log_tail(self.log, lines)


def write_rows(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
