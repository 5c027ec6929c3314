"""Improve jobs and their candidates (core.improve)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from ...core.errors import NotFoundError
from ...core.ids import utc_now
from ...core.improve import Candidate, CandidateSettings, Evaluation, ImproveJob
from ..database import Database
from ..schema import ImproveCandidateRow, ImproveJobRow


def to_job(row: ImproveJobRow) -> ImproveJob:
    return ImproveJob(session_id=row.session_id, start_version_id=row.start_version_id,
                      request=dict(row.request), split=dict(row.split), status=row.status,
                      error=row.error, result=dict(row.result), elapsed_s=row.elapsed_s,
                      id=row.id, created_at=row.created_at, updated_at=row.updated_at)


def to_candidate(row: ImproveCandidateRow) -> Candidate:
    return Candidate(job_id=row.job_id, slot=row.slot, version_id=row.version_id,
                     settings=CandidateSettings.from_dict(row.settings), parent_id=row.parent_id,
                     change=row.change, critique=row.critique, round=row.round,
                     position=row.position,
                     evaluations=tuple(Evaluation.from_dict(e) for e in row.evaluations),
                     id=row.id, created_at=row.created_at)


class ImproveRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- jobs -------------------------------------------------------------------------------

    def add_job(self, job: ImproveJob) -> ImproveJob:
        with self.db.transaction() as s:
            s.add(ImproveJobRow(id=job.id, session_id=job.session_id,
                                start_version_id=job.start_version_id, request=job.request,
                                split=job.split, status=job.status, error=job.error,
                                result=job.result, elapsed_s=job.elapsed_s,
                                created_at=job.created_at, updated_at=job.updated_at))
        return job

    def job(self, job_id: str) -> ImproveJob:
        with self.db.reading() as s:
            row = s.get(ImproveJobRow, job_id)
            if row is None:
                raise NotFoundError(f"No improve job with id {job_id}.")
            return to_job(row)

    def jobs(self, session_id: str | None = None) -> list[ImproveJob]:
        """Newest first; all sessions' when ``session_id`` is None."""
        query = select(ImproveJobRow).order_by(ImproveJobRow.created_at.desc())
        if session_id is not None:
            query = query.where(ImproveJobRow.session_id == session_id)
        with self.db.reading() as s:
            return [to_job(row) for row in s.scalars(query).all()]

    def update_job(self, job_id: str, **changes) -> ImproveJob:
        """Set any of split, status, error, result, elapsed_s."""
        with self.db.transaction() as s:
            row = s.get(ImproveJobRow, job_id)
            if row is None:
                raise NotFoundError(f"No improve job with id {job_id}.")
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = utc_now()
            return to_job(row)

    # -- candidates -------------------------------------------------------------------------

    def add_candidate(self, candidate: Candidate) -> Candidate:
        with self.db.transaction() as s:
            s.add(ImproveCandidateRow(
                id=candidate.id, job_id=candidate.job_id, slot=candidate.slot,
                version_id=candidate.version_id, parent_id=candidate.parent_id,
                settings=candidate.settings.to_dict(), change=candidate.change,
                critique=candidate.critique, round=candidate.round,
                position=candidate.position,
                evaluations=[e.to_dict() for e in candidate.evaluations],
                created_at=candidate.created_at))
        return candidate

    def candidates(self, job_id: str) -> list[Candidate]:
        """In the order the search made them."""
        with self.db.reading() as s:
            rows = s.scalars(select(ImproveCandidateRow)
                             .where(ImproveCandidateRow.job_id == job_id)
                             .order_by(ImproveCandidateRow.position)).all()
            return [to_candidate(row) for row in rows]

    def candidate_at(self, job_id: str, slot: str) -> Candidate | None:
        with self.db.reading() as s:
            row = s.scalars(select(ImproveCandidateRow).where(
                ImproveCandidateRow.job_id == job_id, ImproveCandidateRow.slot == slot)).first()
            return None if row is None else to_candidate(row)

    def run_owners(self) -> dict[str, str]:
        """Evaluation run id -> the improve job it scored a candidate for. Such a run holds a
        sample of the case set (training or held-out cases only): only the job may finish it."""
        with self.db.reading() as s:
            rows = s.execute(select(ImproveCandidateRow.job_id,
                                    ImproveCandidateRow.evaluations)).all()
        return {evaluation["run_id"]: job_id for job_id, evaluations in rows
                for evaluation in evaluations if evaluation.get("run_id")}

    def record_evaluation(self, candidate: Candidate, evaluation: Evaluation) -> Candidate:
        """The candidate with ``evaluation`` stored in place of its stage and rung's."""
        updated = candidate.with_evaluation(evaluation)
        with self.db.transaction() as s:
            row = s.get(ImproveCandidateRow, candidate.id)
            if row is None:
                raise NotFoundError(f"No improve candidate with id {candidate.id}.")
            row.evaluations = [e.to_dict() for e in updated.evaluations]
        return replace(updated)
