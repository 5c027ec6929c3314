"""Model and adapter entries of the library."""

from __future__ import annotations

from sqlalchemy import select

from ...core.catalog import AdapterEntry, ModelEntry
from ..database import Database
from ..schema import AdapterRow, ModelRow


def to_model(row: ModelRow) -> ModelEntry:
    return ModelEntry(path=row.path, sha256=row.sha256, size=row.size,
                      metadata=dict(row.model_metadata), name=row.name, source=row.source,
                      id=row.id, added_at=row.added_at)


def to_adapter(row: AdapterRow) -> AdapterEntry:
    return AdapterEntry(path=row.path, base_model_id=row.base_model_id,
                        tune_job_id=row.tune_job_id, name=row.name, id=row.id,
                        created_at=row.created_at)


class CatalogRepository:
    def __init__(self, db: Database):
        self.db = db

    def upsert_model(self, entry: ModelEntry) -> ModelEntry:
        """Add a model, or refresh what is known about the one at the same path."""
        with self.db.transaction() as s:
            row = s.scalars(select(ModelRow).where(ModelRow.path == entry.path)).first()
            if row is None:
                s.add(ModelRow(id=entry.id, path=entry.path, sha256=entry.sha256, size=entry.size,
                               name=entry.name, source=entry.source,
                               model_metadata=entry.metadata, added_at=entry.added_at))
                return entry
            row.sha256, row.size, row.name = entry.sha256, entry.size, entry.name
            row.source, row.model_metadata = entry.source, entry.metadata
            return to_model(row)

    def models(self) -> list[ModelEntry]:
        with self.db.reading() as s:
            return [to_model(r) for r in s.scalars(select(ModelRow).order_by(ModelRow.name))]

    def remove_model(self, model_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(ModelRow, model_id)
            if row is not None:
                s.delete(row)

    def add_adapter(self, entry: AdapterEntry) -> AdapterEntry:
        with self.db.transaction() as s:
            s.add(AdapterRow(id=entry.id, path=entry.path, base_model_id=entry.base_model_id,
                             tune_job_id=entry.tune_job_id, name=entry.name,
                             created_at=entry.created_at))
        return entry

    def adapters(self, base_model_id: str | None = None) -> list[AdapterEntry]:
        with self.db.reading() as s:
            query = select(AdapterRow).order_by(AdapterRow.created_at)
            if base_model_id is not None:
                query = query.where(AdapterRow.base_model_id == base_model_id)
            return [to_adapter(r) for r in s.scalars(query)]
