"""An experiment's steps as they finish, kept in its folder (``progress.json``), so that a run
killed half-way can go on from the last finished step instead of starting over.

Each step is one record ``{"step": kind, "key": which, "at": UTC time, "elapsed_s": seconds of
work so far, "data": {…}}``;
marking a step again replaces its record in place (a step that was *started* and is now
*done*). Every write goes to a temporary file beside it and is renamed over the old one
(``os.replace``), so a reader — or the next process, after a kill — sees the previous list or
the new one, never half a file. Thread-safe: the comparison engine's workers mark steps too.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...core.atomic_file import write_text_atomically
from ...core.errors import WorkbenchError

PROGRESS = "progress.json"


def write_json(path: Path, data: Any) -> None:
    """``data`` as JSON in ``path``, atomically (a temporary file renamed over it)."""
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WorkbenchError(f"Cannot read {path}: {error}") from None


class ProgressFile:
    """The header (what kind of experiment, when it started, …) and the finished steps."""

    def __init__(self, folder: Path, data: dict):
        self.folder = Path(folder)
        self.path = self.folder / PROGRESS
        self.data = data
        self._lock = threading.Lock()
        self._clock = time.monotonic()
        self._before = float(data.get("elapsed_s") or 0.0)  # work time of earlier processes

    @classmethod
    def create(cls, folder: Path, kind: str, **header) -> ProgressFile:
        progress = cls(folder, {"kind": kind, "status": "running", **header, "resumed_at": [],
                                "elapsed_s": 0.0, "steps": []})
        progress._write()
        return progress

    @classmethod
    def load(cls, folder: Path) -> ProgressFile:
        data = read_json(Path(folder) / PROGRESS)
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise WorkbenchError(f"{Path(folder) / PROGRESS} is not an experiment's progress.")
        return cls(folder, data)

    # -- reading ---------------------------------------------------------------------------

    @property
    def header(self) -> dict:
        return {key: value for key, value in self.data.items() if key != "steps"}

    def steps(self, step: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.data["steps"] if step is None or r["step"] == step]

    def get(self, step: str, key: str = "") -> dict | None:
        """What the step was marked with (None: not marked)."""
        with self._lock:
            for record in self.data["steps"]:
                if record["step"] == step and record["key"] == key:
                    return dict(record["data"])
        return None

    def elapsed(self) -> float:
        """Seconds of work so far, earlier processes' included (up to their last mark)."""
        return self._before + time.monotonic() - self._clock

    # -- writing ---------------------------------------------------------------------------

    def mark(self, step: str, key: str = "", /, **data) -> None:
        record = {"step": step, "key": key, "at": datetime.now(UTC).isoformat(),
                  "elapsed_s": round(self.elapsed(), 2), "data": data}
        with self._lock:
            steps = self.data["steps"]
            index = next((i for i, r in enumerate(steps)
                          if r["step"] == step and r["key"] == key), None)
            if index is None:
                steps.append(record)
            else:
                steps[index] = record
            self._write_locked()

    def resumed(self) -> None:
        """Note that another process goes on with it."""
        self.update(status="running",
                    resumed_at=[*self.data.get("resumed_at", []), datetime.now(UTC).isoformat()])

    def update(self, **header) -> None:
        with self._lock:
            self.data.update(header)
            self._write_locked()

    def _write(self) -> None:
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 2)
        write_json(self.path, self.data)
