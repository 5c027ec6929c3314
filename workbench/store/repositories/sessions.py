"""Sessions and their autosaved drafts."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from ...core.errors import NotFoundError
from ...core.ids import utc_now
from ...core.sessions import Draft, Session, SessionSummary
from ..database import Database
from ..schema import DraftRow, OutputRow, PromptRow, PromptVersionRow, RunRow, SessionRow


def to_session(row: SessionRow) -> Session:
    return Session(name=row.name, id=row.id, notes=row.notes, created_at=row.created_at,
                   updated_at=row.updated_at)


class SessionRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, session: Session) -> Session:
        with self.db.transaction() as s:
            s.add(SessionRow(id=session.id, name=session.name, notes=session.notes,
                             created_at=session.created_at, updated_at=session.updated_at))
        return session

    def get(self, session_id: str) -> Session:
        with self.db.reading() as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError(f"No session with id {session_id}.")
            return to_session(row)

    def find(self, id_or_name: str) -> Session:
        """By id, id prefix (as printed by the CLI) or exact name."""
        with self.db.reading() as s:
            row = s.get(SessionRow, id_or_name)
            if row is None:
                rows = s.scalars(select(SessionRow).where(
                    (SessionRow.name == id_or_name) | SessionRow.id.startswith(id_or_name))).all()
                if len(rows) > 1:
                    raise NotFoundError(f"'{id_or_name}' matches {len(rows)} sessions; "
                                        "use the full id.")
                row = rows[0] if rows else None
            if row is None:
                raise NotFoundError(f"No session named or numbered '{id_or_name}'.")
            return to_session(row)

    def list(self) -> list[Session]:
        with self.db.reading() as s:
            rows = s.scalars(select(SessionRow).order_by(SessionRow.updated_at.desc())).all()
            return [to_session(r) for r in rows]

    def summaries(self) -> list[SessionSummary]:
        with self.db.reading() as s:
            versions = dict(s.execute(
                select(PromptRow.session_id, func.count(PromptVersionRow.id))
                .join(PromptVersionRow, PromptVersionRow.prompt_id == PromptRow.id)
                .group_by(PromptRow.session_id)).all())
            runs = dict(s.execute(select(RunRow.session_id, func.count(RunRow.id))
                                  .group_by(RunRow.session_id)).all())
            outputs = dict(s.execute(
                select(RunRow.session_id, func.count(OutputRow.id))
                .join(OutputRow, OutputRow.run_id == RunRow.id).group_by(RunRow.session_id)).all())
            return [SessionSummary(session, versions.get(session.id, 0), runs.get(session.id, 0),
                                   outputs.get(session.id, 0)) for session in self.list()]

    def rename(self, session_id: str, name: str) -> Session:
        with self.db.transaction() as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError(f"No session with id {session_id}.")
            row.name = name
            row.updated_at = utc_now()
            return to_session(row)

    def touch(self, session_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(SessionRow, session_id)
            if row is not None:
                row.updated_at = utc_now()

    def delete(self, session_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(SessionRow, session_id)
            if row is not None:
                s.delete(row)


class DraftRepository:
    """Autosaved editor state: saved on every pause in typing, restored after a crash."""

    def __init__(self, db: Database):
        self.db = db

    def save(self, draft: Draft) -> Draft:
        draft = replace(draft, updated_at=utc_now())
        with self.db.transaction() as s:
            row = s.get(DraftRow, (draft.session_id, draft.key))
            if row is None:
                s.add(DraftRow(session_id=draft.session_id, key=draft.key, content=draft.content,
                               updated_at=draft.updated_at))
            else:
                row.content = draft.content
                row.updated_at = draft.updated_at
        return draft

    def get(self, session_id: str, key: str) -> Draft | None:
        with self.db.reading() as s:
            row = s.get(DraftRow, (session_id, key))
            return None if row is None else Draft(row.session_id, row.key, row.content,
                                                  row.updated_at)

    def discard(self, session_id: str, key: str) -> None:
        with self.db.transaction() as s:
            row = s.get(DraftRow, (session_id, key))
            if row is not None:
                s.delete(row)
