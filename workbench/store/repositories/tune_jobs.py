"""Tune jobs: config, status, metric series, artifacts."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select

from ...core.errors import NotFoundError
from ...core.ids import utc_now
from ...core.tune_jobs import MetricPoint, TuneJob
from ..database import Database
from ..schema import TuneJobRow


def to_job(row: TuneJobRow) -> TuneJob:
    return TuneJob(session_id=row.session_id, config=dict(row.config), status=row.status,
                   metrics=tuple(MetricPoint(**m) for m in row.metrics),
                   artifacts=dict(row.artifacts), error=row.error, id=row.id,
                   created_at=row.created_at, updated_at=row.updated_at)


class TuneJobRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, job: TuneJob) -> TuneJob:
        with self.db.transaction() as s:
            s.add(TuneJobRow(id=job.id, session_id=job.session_id, config=job.config,
                             status=job.status, metrics=[asdict(m) for m in job.metrics],
                             artifacts=job.artifacts, error=job.error, created_at=job.created_at,
                             updated_at=job.updated_at))
        return job

    def get(self, job_id: str) -> TuneJob:
        with self.db.reading() as s:
            row = s.get(TuneJobRow, job_id)
            if row is None:
                raise NotFoundError(f"No tune job with id {job_id}.")
            return to_job(row)

    def list(self) -> list[TuneJob]:
        with self.db.reading() as s:
            return [to_job(r) for r in s.scalars(select(TuneJobRow)
                                                  .order_by(TuneJobRow.created_at)).all()]

    def update(self, job_id: str, *, status: str | None = None, error: str | None = None,
               artifacts: dict[str, str] | None = None,
               new_metrics: list[MetricPoint] | None = None) -> TuneJob:
        with self.db.transaction() as s:
            row = s.get(TuneJobRow, job_id)
            if row is None:
                raise NotFoundError(f"No tune job with id {job_id}.")
            if status is not None:
                row.status = status
            if error is not None:
                row.error = error
            if artifacts:
                row.artifacts = {**row.artifacts, **artifacts}
            if new_metrics:
                row.metrics = [*row.metrics, *(asdict(m) for m in new_metrics)]
            row.updated_at = utc_now()
            return to_job(row)
