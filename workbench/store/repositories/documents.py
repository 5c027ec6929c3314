"""Documents and chunks for retrieval."""

from __future__ import annotations

from sqlalchemy import select

from ...core.documents import Chunk, Document
from ..database import Database
from ..schema import ChunkRow, DocumentRow


class DocumentRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, document: Document, chunks: list[Chunk]) -> Document:
        with self.db.transaction() as s:
            s.add(DocumentRow(id=document.id, session_id=document.session_id,
                              title=document.title, source=document.source, text=document.text,
                              created_at=document.created_at))
            s.flush()
            s.add_all(ChunkRow(id=c.id, document_id=document.id, position=c.position,
                               text=c.text, embedding=c.embedding) for c in chunks)
        return document

    def chunks(self, document_id: str) -> list[Chunk]:
        with self.db.transaction() as s:
            rows = s.scalars(select(ChunkRow).where(ChunkRow.document_id == document_id)
                             .order_by(ChunkRow.position)).all()
            return [Chunk(document_id=r.document_id, position=r.position, text=r.text,
                          embedding=r.embedding, id=r.id) for r in rows]

    def for_session(self, session_id: str | None) -> list[Document]:
        with self.db.transaction() as s:
            rows = s.scalars(select(DocumentRow).where(DocumentRow.session_id == session_id)
                             .order_by(DocumentRow.created_at)).all()
            return [Document(session_id=r.session_id, title=r.title, source=r.source,
                             text=r.text, id=r.id, created_at=r.created_at) for r in rows]
