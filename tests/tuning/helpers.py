"""Small helpers shared by the tuning tests: data files, a recording listener, services."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from workbench.core.job_state import JobWatcher
from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.tuning import TuningService
from workbench.store import Store

# Eight phrasings of a made-up fact the base model cannot know (shipped as an example).
FACT_DATA = Path(__file__).resolve().parents[2] / "resources" / "examples" / "made-up-fact.jsonl"


def write_chat_jsonl(path: Path) -> Path:
    shutil.copyfile(FACT_DATA, path)
    return path


class Recorder(JobWatcher):
    """Watches a tune run and keeps every trainer event (and, at the end, the stored job)."""

    def __init__(self):
        super().__init__(on_partial=self._event, on_finished=self._ended)
        self.events = []
        self.finished = threading.Event()
        self.job = None
        self.on_event = None

    def _event(self, event):
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _ended(self, state):
        self.job = state.outcome
        self.finished.set()

    def kinds(self):
        return [e.event for e in self.events]


def ended_job(run, timeout_s: float):
    """The stored tune job once ``run`` has ended (``wait`` answers whether it did)."""
    assert run.wait(timeout_s), f"the tune job did not finish within {timeout_s} s"
    return run.job


def services(plugins=None):
    paths = app_paths().ensure()
    store = Store.open(paths.database)
    models = ModelService(paths)
    return store, models, TuningService(store, models, paths, plugins=plugins)
