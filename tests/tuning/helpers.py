"""Small helpers shared by the tuning tests: data files, a recording listener, services."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.tuning import TuningService
from workbench.store import Store

# Eight phrasings of a made-up fact the base model cannot know (shipped as an example).
FACT_DATA = Path(__file__).resolve().parents[2] / "resources" / "examples" / "made-up-fact.jsonl"


def write_chat_jsonl(path: Path) -> Path:
    shutil.copyfile(FACT_DATA, path)
    return path


class Recorder:
    """A TuneListener that keeps every event."""

    def __init__(self):
        self.events = []
        self.finished = threading.Event()
        self.job = None
        self.on_event = None

    def job_event(self, job_id, event):
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def job_finished(self, job):
        self.job = job
        self.finished.set()

    def kinds(self):
        return [e.event for e in self.events]


def services(plugins=None):
    paths = app_paths().ensure()
    store = Store.open(paths.database)
    models = ModelService(paths)
    return store, models, TuningService(store, models, paths, plugins=plugins)
