"""What the trainer process reports, one JSON object per line on its stdout.

    {"event": "start", "step": 0, "total_steps": 60, "train_rows": 9, "val_rows": 1, ...}
    {"event": "step", "step": 3, "loss": 2.1, "lr": 0.001, "tokens_per_second": 812.0,
     "eta_s": 41.5, "epoch": 0.3, "elapsed_s": 2.2}
    {"event": "eval", "step": 10, "eval_loss": 1.7}
    {"event": "checkpoint", "step": 10, "path": "..."}
    {"event": "done", "step": 60, "adapter": "..."}
    {"event": "cancelled", "step": 12, "checkpoint": "..."}
    {"event": "error", "kind": "oom" | "config" | "crash", "message": "..."}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

EVENTS = ("start", "step", "eval", "checkpoint", "done", "cancelled", "error")


@dataclass(frozen=True)
class TrainerEvent:
    event: str
    step: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def encode(self) -> str:
        return json.dumps({"event": self.event, "step": self.step, **self.data},
                          separators=(",", ":"))


def decode(line: str) -> TrainerEvent | None:
    """The event on one stdout line, or None for a line that is not one (ignored)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("event") not in EVENTS:
        return None
    event, step = data.pop("event"), int(data.pop("step", 0) or 0)
    return TrainerEvent(event, step, data)
