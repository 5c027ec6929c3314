"""Shared pieces of the retrieval tests: one store and one model service per module (the
bundled model's embedding host is loaded once), the corpus written for these tests, and its
questions with their gold sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.paths import AppPaths
from workbench.services.models import ModelService
from workbench.services.retrieval.service import RetrievalService
from workbench.store import Store

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in {".md", ".txt", ".html"})


def questions() -> list[dict]:
    return [json.loads(line) for line in (CORPUS / "questions.jsonl").read_text().splitlines()
            if line.strip()]


class Lab:
    """A store, the models and the retrieval service over them."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.paths = AppPaths(root / "data", root / "config", root / "cache", root / "logs")
        self.store = Store.open(root / "lab.sqlite3")
        self.models = ModelService(self.paths, self.store)
        self.service = RetrievalService(self.store, self.models)

    def close(self) -> None:
        self.models.close()
        self.store.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    opened = Lab(tmp_path_factory.mktemp("lab"))
    yield opened
    opened.close()
