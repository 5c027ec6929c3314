"""Use cases around stored sessions: list, export, import, search."""

from __future__ import annotations

from pathlib import Path

from ..core.paths import AppPaths, app_paths
from ..core.runs import Run
from ..core.search import SearchHit
from ..core.sessions import SessionSummary
from ..store import Store  # the window passes it on (ui imports only services)
from ..store.exchange import ImportResult, export_session, import_session
from . import run_state
from .run_state import CellProgress


def open_store(paths: AppPaths | None = None) -> Store:
    """The user's session database (created and migrated on first use)."""
    paths = (paths or app_paths()).ensure()
    return Store.open(paths.database)


class SessionService:
    def __init__(self, store: Store | None = None):
        self.store = store or open_store()

    @property
    def notices(self) -> list[str]:
        return self.store.notices

    def summaries(self) -> list[SessionSummary]:
        return self.store.sessions.summaries()

    def unfinished_runs(self) -> dict[str, list[tuple[Run, CellProgress]]]:
        """Session id -> its interrupted or stopped runs with how far each got (a run whose
        process is gone is found interrupted here)."""
        found: dict[str, list[tuple[Run, CellProgress]]] = {}
        for run in run_state.resumable_runs(self.store):
            found.setdefault(run.session_id, []).append((run, run_state.progress(self.store,
                                                                                  run)))
        return found

    def export(self, id_or_name: str, file: Path) -> dict[str, int]:
        session = self.store.sessions.find(id_or_name)
        return export_session(self.store.db, session.id, Path(file))

    def import_file(self, file: Path) -> ImportResult:
        return import_session(self.store.db, Path(file))

    def search(self, text: str, *, session: str | None = None, limit: int = 20) -> list[SearchHit]:
        session_id = self.store.sessions.find(session).id if session else None
        return self.store.search.search(text, session_id=session_id, limit=limit)

    def close(self) -> None:
        self.store.close()
