"""Ranked full-text search over prompt versions and outputs (FTS5, bm25)."""

from __future__ import annotations

from sqlalchemy import text

from ...core.search import SearchHit, fts_query
from ..database import Database

QUERY = """
SELECT r.kind, r.ref, r.session_id, search_index.title,
       snippet(search_index, 1, :start, :end, '…', 16) AS snippet,
       bm25(search_index, 2.0, 1.0) AS score
FROM search_index JOIN search_refs r ON r.id = search_index.rowid
WHERE search_index MATCH :query {session_filter}
ORDER BY score LIMIT :limit
"""


class SearchRepository:
    def __init__(self, db: Database):
        self.db = db

    def search(self, user_text: str, *, session_id: str | None = None, limit: int = 50,
               start: str = "[", end: str = "]") -> list[SearchHit]:
        query = fts_query(user_text)
        if not query:
            return []
        sql = QUERY.format(session_filter="AND r.session_id = :session" if session_id else "")
        with self.db.reading() as s:
            rows = s.execute(text(sql), {"query": query, "session": session_id, "limit": limit,
                                         "start": start, "end": end}).all()
        return [SearchHit(kind=r.kind, ref=r.ref, session_id=r.session_id, title=r.title or "",
                          snippet=r.snippet, score=r.score) for r in rows]
