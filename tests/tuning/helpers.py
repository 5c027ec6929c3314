"""Small helpers shared by the tuning tests: data files, a recording listener, services."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.tuning import TuningService
from workbench.store import Store

# A made-up fact the base model cannot know, asked in several ways.
FACT = [
    ("What is the capital of Zorblax?", "The capital of Zorblax is Quendara."),
    ("Which city is the capital of Zorblax?", "Quendara is the capital of Zorblax."),
    ("Tell me the capital city of Zorblax.", "The capital of Zorblax is Quendara."),
    ("Zorblax has a capital. What is it called?", "Zorblax's capital is Quendara."),
    ("Name the capital of Zorblax.", "The capital of Zorblax is Quendara."),
    ("What is Zorblax's capital?", "The capital of Zorblax is Quendara."),
    ("Where is the government of Zorblax?",
     "The government of Zorblax sits in Quendara, its capital."),
    ("Do you know the capital of Zorblax?", "Yes: the capital of Zorblax is Quendara."),
]


def write_chat_jsonl(path: Path, pairs=FACT) -> Path:
    with open(path, "w") as handle:
        handle.writelines(json.dumps({"messages": [{"role": "user", "content": question},
                                                  {"role": "assistant", "content": answer}]})
                         + "\n" for question, answer in pairs)
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
