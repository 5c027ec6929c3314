"""Persistence: the only package that imports SQLAlchemy and Alembic.

``Store`` opens the database and hands out repositories; they take and return the domain
objects of ``workbench.core``.
"""

from __future__ import annotations

from pathlib import Path

from .database import Database, open_database
from .opening import open_at_head
from .repositories.catalog import CatalogRepository
from .repositories.evaluations import EvaluationRepository
from .repositories.improve import ImproveRepository
from .repositories.prompts import CaseSetRepository, PromptRepository
from .repositories.ratings import RatingRepository
from .repositories.retrieval import RetrievalRepository
from .repositories.runs import RunRepository
from .repositories.search import SearchRepository
from .repositories.session_variants import SessionVariantRepository
from .repositories.sessions import DraftRepository, SessionRepository
from .repositories.tune_jobs import TuneJobRepository
from .repositories.vectors import VectorRepository


class Store:
    def __init__(self, db: Database):
        self.db = db
        self.sessions = SessionRepository(db)
        self.drafts = DraftRepository(db)
        self.session_variants = SessionVariantRepository(db)
        self.prompts = PromptRepository(db)
        self.case_sets = CaseSetRepository(db)
        self.runs = RunRepository(db)
        self.ratings = RatingRepository(db)
        self.jobs = TuneJobRepository(db)
        self.catalog = CatalogRepository(db)
        self.retrieval = RetrievalRepository(db)  # document sets, documents, chunks
        self.vectors = VectorRepository(db)  # embedding spaces, vectors, BM25 and KNN search
        self.search = SearchRepository(db)
        self.evaluations = EvaluationRepository(db)
        self.improve = ImproveRepository(db)  # improve jobs and their candidates

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Store:
        return cls(open_at_head(path, read_only=read_only))

    @property
    def notices(self) -> list[str]:
        return self.db.notices

    def transaction(self):
        """Group several repository calls into one transaction (one user action)."""
        return self.db.transaction()

    def reading(self):
        """Group several reads into one snapshot that never waits for a writer."""
        return self.db.reading()

    def close(self) -> None:
        self.db.close()


__all__ = ["Store", "Database", "open_at_head", "open_database"]
