"""Document sets, their documents and chunks, and what retrieval put into an output's prompt.

The vectors and both searches (FTS5, sqlite-vec) are in ``vectors.py``. Chunks have integer
ids: the rowid of their FTS5 row (triggers of migration 0006 keep it in step) and of their
vectors (a trigger per space, made with its ``vec0`` table, removes them with the chunk).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import delete, func, insert, select, update

from ...core.errors import NotFoundError
from ...core.ids import new_id
from ...core.retrieval import (
    ChunkingSpec,
    ChunkView,
    DocumentSet,
    EmbeddingSpace,
    RetrievalSettings,
    Retrieved,
    SourceDocument,
)
from ..database import Database
from ..schema import (
    ChunkRow,
    DocumentPartRow,
    DocumentRow,
    DocumentSetRow,
    EmbeddingSpaceRow,
    OutputRetrievalRow,
    OutputRow,
)

DRAFT = ""  # the sha256 of a document still being stored (see start_draft)
PART_CHARS = 1 << 20  # characters in a part of a document's text given whole (save_document)


def to_space(row: EmbeddingSpaceRow | None) -> EmbeddingSpace | None:
    if row is None:
        return None
    return EmbeddingSpace(model_path=row.model_path, model_sha256=row.model_sha256,
                          model_name=row.model_name, dim=row.dim, pooling=row.pooling)


def to_document(row: DocumentRow, chunks: int = 0) -> SourceDocument:
    return SourceDocument(set_id=row.set_id, path=row.path, title=row.title, sha256=row.sha256,
                          size=row.size, chunks=chunks, id=row.id, added_at=row.added_at,
                          updated_at=row.updated_at)


def to_chunk(row: ChunkRow) -> ChunkView:
    return ChunkView(id=row.id, document_id=row.document_id, position=row.position,
                     text=row.text, start=row.start, end=row.end, tokens=row.tokens)


class RetrievalRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- sets ----------------------------------------------------------------------------

    def _to_set(self, s, row: DocumentSetRow) -> DocumentSet:
        space = to_space(s.get(EmbeddingSpaceRow, row.space_id)) if row.space_id else None
        return DocumentSet(name=row.name, session_id=row.session_id,
                           chunking=ChunkingSpec.from_dict(row.chunking), embedding=space,
                           id=row.id, created_at=row.created_at)

    def add_set(self, document_set: DocumentSet) -> DocumentSet:
        with self.db.transaction() as s:
            s.add(DocumentSetRow(id=document_set.id, session_id=document_set.session_id,
                                 name=document_set.name,
                                 chunking=document_set.chunking.to_dict(), space_id=None,
                                 created_at=document_set.created_at))
        return document_set

    def sets(self, session_id: str | None = None) -> list[DocumentSet]:
        """The session's sets (``None``: the global ones), by name."""
        with self.db.reading() as s:
            query = select(DocumentSetRow).order_by(DocumentSetRow.name).where(
                DocumentSetRow.session_id.is_(None) if session_id is None
                else DocumentSetRow.session_id == session_id)
            return [self._to_set(s, row) for row in s.scalars(query)]

    def get_set(self, set_id: str) -> DocumentSet | None:
        with self.db.reading() as s:
            row = s.get(DocumentSetRow, set_id)
            return None if row is None else self._to_set(s, row)

    def remove_set(self, set_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(DocumentSetRow, set_id)
            if row is not None:
                s.delete(row)  # documents, chunks (and so FTS rows and vectors) by cascade

    def set_chunking(self, set_id: str, spec: ChunkingSpec) -> None:
        with self.db.transaction() as s:
            self._set_row(s, set_id).chunking = spec.to_dict()

    def set_space(self, set_id: str, space_id: int | None) -> None:
        with self.db.transaction() as s:
            self._set_row(s, set_id).space_id = space_id

    def space_id_of(self, set_id: str) -> int | None:
        with self.db.reading() as s:
            return self._set_row(s, set_id).space_id

    @staticmethod
    def _set_row(s, set_id: str) -> DocumentSetRow:
        row = s.get(DocumentSetRow, set_id)
        if row is None:
            raise NotFoundError(f"No document set with id {set_id}.")
        return row

    # -- documents -----------------------------------------------------------------------

    def documents(self, set_id: str) -> list[SourceDocument]:
        """The set's documents by path (drafts, whose sha256 is still empty, left out)."""
        with self.db.reading() as s:
            counts = dict(s.execute(
                select(ChunkRow.document_id, func.count()).where(ChunkRow.set_id == set_id)
                .group_by(ChunkRow.document_id)).all())
            rows = s.scalars(select(DocumentRow).where(DocumentRow.set_id == set_id,
                                                       DocumentRow.sha256 != DRAFT)
                             .order_by(DocumentRow.path))
            return [to_document(row, counts.get(row.id, 0)) for row in rows]

    def document_text(self, document_id: str) -> str:
        return "".join(self.document_parts(document_id))

    def document_parts(self, document_id: str) -> Iterator[str]:
        """A document's text a part at a time (each read in a transaction of its own), or the
        whole text of a document stored before its text was kept in parts."""
        with self.db.reading() as s:
            text = s.scalar(select(DocumentRow.text).where(DocumentRow.id == document_id))
        if text is None:
            raise NotFoundError(f"No document with id {document_id}.")
        if text:
            yield text
            return
        position = 0
        while True:
            with self.db.reading() as s:
                part = s.scalar(select(DocumentPartRow.text).where(
                    DocumentPartRow.document_id == document_id,
                    DocumentPartRow.position == position))
            if part is None:
                return
            yield part
            position += 1

    def save_document(self, document: SourceDocument, text: str,
                      chunks: Sequence[ChunkView]) -> list[int]:
        """Store a document and its chunks in one transaction (their ids are given by the
        database and returned), replacing the chunks it had: their FTS rows and vectors go
        with them (triggers)."""
        with self.db.transaction() as s:
            draft = self.start_draft(document)
            parts = [(i, start, text[start:start + PART_CHARS])
                     for i, start in enumerate(range(0, len(text), PART_CHARS))]
            self.add_to_draft(draft, parts, chunks)
            self.finish_draft(draft, document)
            return list(s.scalars(select(ChunkRow.id).where(ChunkRow.document_id == document.id)
                                  .order_by(ChunkRow.position)))

    # -- a document stored a batch at a time ----------------------------------------------
    # A draft is a documents row whose sha256 is empty. Its parts and chunks are written a
    # batch at a time, each batch a transaction of its own; its chunks carry the draft's id
    # as their set, so no search, listing or count sees them. ``finish_draft`` makes it the
    # document in one transaction (the old version's chunks, vectors and text go then), so a
    # search sees the old version or the new one, never half of one. A draft left behind by
    # a process that was killed is removed by ``drop_drafts`` (the next add of the set), and
    # the file is then stored again from the start.

    def start_draft(self, document: SourceDocument) -> str:
        draft = new_id()
        with self.db.transaction() as s:
            s.add(DocumentRow(id=draft, set_id=document.set_id, path=document.path, title="",
                              sha256=DRAFT, size=document.size, text="",
                              added_at=document.added_at, updated_at=document.updated_at))
        return draft

    def add_to_draft(self, draft: str, parts: Sequence[tuple[int, int, str]],
                     chunks: Sequence[ChunkView]) -> None:
        """A batch of the draft's text parts (position, start, text) and chunks."""
        with self.db.transaction() as s:
            if parts:
                s.execute(insert(DocumentPartRow), [
                    {"document_id": draft, "position": position, "start": start, "text": text}
                    for position, start, text in parts])
            if chunks:
                s.execute(insert(ChunkRow), [
                    {"document_id": draft, "set_id": draft, "position": c.position,
                     "text": c.text, "start": c.start, "end": c.end, "tokens": c.tokens}
                    for c in chunks])

    def finish_draft(self, draft: str, document: SourceDocument, *,
                     keep_text: bool = False) -> None:
        """The draft becomes ``document`` (added, or replacing the version stored under its
        id). ``keep_text``: the draft has chunks only (re-chunking), the text stays."""
        with self.db.transaction() as s:
            row = s.get(DocumentRow, document.id)
            if row is None:
                s.add(DocumentRow(id=document.id, set_id=document.set_id, path=document.path,
                                  title=document.title, sha256=document.sha256,
                                  size=document.size, text="", added_at=document.added_at,
                                  updated_at=document.updated_at))
                s.flush()
            else:
                # Chunks first, explicitly: their delete triggers keep FTS5 and vec0 in step.
                s.execute(delete(ChunkRow).where(ChunkRow.document_id == document.id))
                row.title, row.sha256, row.size = document.title, document.sha256, document.size
                row.updated_at = document.updated_at
                if not keep_text:
                    s.execute(delete(DocumentPartRow)
                              .where(DocumentPartRow.document_id == document.id))
                    row.text = ""
            s.execute(update(ChunkRow).where(ChunkRow.document_id == draft)
                      .values(document_id=document.id, set_id=document.set_id))
            s.execute(update(DocumentPartRow).where(DocumentPartRow.document_id == draft)
                      .values(document_id=document.id))
            s.execute(delete(DocumentRow).where(DocumentRow.id == draft))

    def discard_draft(self, draft: str) -> None:
        self.remove_document(draft)

    def drop_drafts(self, set_id: str) -> int:
        """Remove the drafts a stopped process left in the set; how many there were."""
        with self.db.transaction() as s:
            drafts = list(s.scalars(select(DocumentRow.id).where(
                DocumentRow.set_id == set_id, DocumentRow.sha256 == DRAFT)))
            for draft in drafts:
                self.remove_document(draft)
            return len(drafts)

    def remove_document(self, document_id: str) -> None:
        with self.db.transaction() as s:
            # Chunks first, explicitly: their delete triggers keep FTS5 and vec0 in step.
            s.execute(delete(ChunkRow).where(ChunkRow.document_id == document_id))
            s.execute(delete(DocumentRow).where(DocumentRow.id == document_id))

    # -- chunks --------------------------------------------------------------------------

    def chunks(self, set_id: str, document_id: str | None = None) -> list[ChunkView]:
        with self.db.reading() as s:
            query = select(ChunkRow).where(ChunkRow.set_id == set_id)
            if document_id is not None:
                query = query.where(ChunkRow.document_id == document_id)
            query = query.order_by(ChunkRow.document_id, ChunkRow.position)
            return [to_chunk(row) for row in s.scalars(query)]

    # -- what an output's prompt contained -------------------------------------------------

    def record_for_output(self, output_id: str, settings: RetrievalSettings,
                          retrieved: Sequence[Retrieved]) -> None:
        with self.db.transaction() as s:
            if s.get(OutputRow, output_id) is None:
                raise NotFoundError(f"No output with id {output_id}.")
            row = s.get(OutputRetrievalRow, output_id)
            chunks = [r.to_dict() for r in retrieved]
            if row is None:
                s.add(OutputRetrievalRow(output_id=output_id, settings=settings.to_dict(),
                                         chunks=chunks))
            else:
                row.settings, row.chunks = settings.to_dict(), chunks

    def for_output(self, output_id: str) -> tuple[RetrievalSettings, list[Retrieved]] | None:
        return self.for_outputs([output_id]).get(output_id)

    def for_outputs(self, output_ids: list[str]
                    ) -> dict[str, tuple[RetrievalSettings, list[Retrieved]]]:
        """What retrieval put into each of these outputs' prompts, in one query (outputs
        whose prompt retrieved nothing are left out)."""
        found: dict[str, tuple[RetrievalSettings, list[Retrieved]]] = {}
        with self.db.reading() as s:
            for start in range(0, len(output_ids), 500):  # SQLite's bound-variable limit
                rows = s.scalars(select(OutputRetrievalRow).where(
                    OutputRetrievalRow.output_id.in_(output_ids[start:start + 500])))
                for row in rows:
                    found[row.output_id] = (RetrievalSettings.from_dict(row.settings),
                                            [Retrieved.from_dict(c) for c in row.chunks])
        return found
