"""A model load's progress and cancel, on both sides of the host's pipe.

llama.cpp reports how far it has read the weights through ``llama_model_params.
progress_callback`` (a fraction, 0 to 1) and stops the load when the callback returns false.
The host sends that fraction as ``{"id": N, "type": "progress", "fraction": f}`` events before
the load's result; a ``cancel`` naming the load makes the callback return false. The client
turns the events into its callers' job progress (client.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.errors import WorkbenchError

PROGRESS = "progress"  # the event type: not terminal, the load's result follows
STEP = 0.01  # the smallest change sent: llama.cpp calls back once per tensor (hundreds)


class LoadCancelled(WorkbenchError):
    """A load stopped by its caller's cancel: no model is left half-loaded."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"Loading {Path(path).name} was cancelled.")


class LoadReporter:
    """The host's progress callback for one load request: sends the fraction as it grows
    (each whole step, and the end), and answers False once the request is cancelled."""

    def __init__(self, send: Callable[[dict[str, Any]], None], request_id: int,
                 is_cancelled: Callable[[], bool]):
        self._send = send
        self._request_id = request_id
        self._is_cancelled = is_cancelled
        self._sent: float | None = None
        self.stopped = False  # the callback has told llama.cpp to stop

    def __call__(self, fraction: float) -> bool:
        if self._is_cancelled():
            self.stopped = True
            return False
        if self._sent is None or fraction >= 1.0 or fraction - self._sent >= STEP:
            self._sent = fraction
            self._send({"id": self._request_id, "type": PROGRESS,
                        "fraction": round(min(max(fraction, 0.0), 1.0), 4)})
        return True
