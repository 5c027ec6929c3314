"""Each session's variant rows: saved whole (the table as the user left it), read in order."""

from __future__ import annotations

from sqlalchemy import select

from ...core.errors import NotFoundError
from ...core.ids import utc_now
from ...core.retrieval import RetrievalSettings
from ...core.session_variants import SessionVariant
from ..database import Database
from ..schema import SessionRow, SessionVariantRow


def to_variant(row: SessionVariantRow) -> SessionVariant:
    return SessionVariant(
        label=row.label, version=row.prompt_version, model=row.model, adapter=row.adapter_path,
        adapter_scale=row.adapter_scale, temperature=row.temperature, seed=row.seed,
        max_tokens=row.max_tokens, sampling_flags=row.sampling_flags,
        engine_flags=row.engine_flags, retrieval=RetrievalSettings.from_dict(row.retrieval))


class SessionVariantRepository:
    def __init__(self, db: Database):
        self.db = db

    def save(self, session_id: str, variants: list[SessionVariant]) -> list[SessionVariant]:
        """Store exactly these rows for the session, replacing what it had."""
        now = utc_now()
        with self.db.transaction() as s:
            if s.get(SessionRow, session_id) is None:
                raise NotFoundError(f"Cannot save the variants: no session with id {session_id}.")
            # Through the ORM, not a bulk DELETE: rows read earlier in the same transaction
            # would otherwise clash with the new ones of the same (session, position).
            for old in s.scalars(select(SessionVariantRow)
                                 .where(SessionVariantRow.session_id == session_id)):
                s.delete(old)
            s.flush()
            s.add_all(SessionVariantRow(
                session_id=session_id, position=position, label=v.label,
                prompt_version=v.version, model=v.model, adapter_path=v.adapter,
                adapter_scale=float(v.adapter_scale), temperature=float(v.temperature),
                seed=int(v.seed), max_tokens=int(v.max_tokens), sampling_flags=v.sampling_flags,
                engine_flags=v.engine_flags, retrieval=v.retrieval.to_dict(), updated_at=now)
                for position, v in enumerate(variants))
        return list(variants)

    def get(self, session_id: str) -> list[SessionVariant] | None:
        """The session's rows in order; None when none were ever saved."""
        with self.db.reading() as s:
            rows = s.scalars(select(SessionVariantRow)
                             .where(SessionVariantRow.session_id == session_id)
                             .order_by(SessionVariantRow.position)).all()
            return [to_variant(r) for r in rows] or None
