"""Embedding spaces, chunk vectors (sqlite-vec) and the two searches: BM25 over FTS5, and
nearest neighbours over a space's ``vec0`` table.

One ``vec_<space id>`` table per space, made when the space is first used: its dimension is
the model's. A set's chunks are a partition of it (``set_id text partition key``), so a search
reads only its set's vectors. ``chunk_embeddings`` says which chunks have a vector in which
space: re-embedding after a cancel picks up where it stopped. A trigger made with each table
removes a chunk's vector when the chunk goes (a re-added file, a removed document or set).
Vectors are float32, L2-normalised by the model host; distances are cosine.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, text

from ...core.retrieval import EmbeddingSpace
from ..database import Database
from ..schema import ChunkEmbeddingRow, ChunkRow, DocumentRow, EmbeddingSpaceRow


def vec_table(space_id: int) -> str:
    return f"vec_{int(space_id)}"


class VectorRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- spaces --------------------------------------------------------------------------

    def space_id(self, space: EmbeddingSpace) -> int:
        """The id of this space (same file hash, dimension and pooling), made with its vector
        table on first use."""
        with self.db.transaction() as s:
            row = s.scalar(select(EmbeddingSpaceRow).where(
                EmbeddingSpaceRow.model_sha256 == space.model_sha256,
                EmbeddingSpaceRow.dim == space.dim, EmbeddingSpaceRow.pooling == space.pooling))
            if row is not None:
                return row.id
            row = EmbeddingSpaceRow(model_sha256=space.model_sha256, model_path=space.model_path,
                                    model_name=space.model_name, dim=int(space.dim),
                                    pooling=space.pooling)
            s.add(row)
            s.flush()
            table = vec_table(row.id)
            s.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0("
                           f"set_id text partition key, "
                           f"embedding float[{int(space.dim)}] distance_metric=cosine)"))
            s.execute(text(f"CREATE TRIGGER IF NOT EXISTS {table}_chunk_delete AFTER DELETE ON "
                           f"chunks BEGIN DELETE FROM {table} WHERE rowid = OLD.id; END"))
            return row.id

    # -- vectors -------------------------------------------------------------------------

    def missing(self, set_id: str, space_id: int, *, after: int = 0,
                limit: int | None = None) -> list[tuple[int, str]]:
        """(chunk id, text) of the set's chunks with no vector in the space yet, in order: those
        after chunk id ``after``, at most ``limit`` (a page: embedding never holds them all)."""
        with self.db.reading() as s:
            done = select(ChunkEmbeddingRow.chunk_id).where(ChunkEmbeddingRow.space_id == space_id)
            rows = s.execute(select(ChunkRow.id, ChunkRow.text)
                             .where(ChunkRow.set_id == set_id, ChunkRow.id > after,
                                    ChunkRow.id.not_in(done))
                             .order_by(ChunkRow.id).limit(limit))
            return [(row.id, row.text) for row in rows]

    def missing_count(self, set_id: str, space_id: int) -> int:
        with self.db.reading() as s:
            done = select(ChunkEmbeddingRow.chunk_id).where(ChunkEmbeddingRow.space_id == space_id)
            return s.scalar(select(func.count()).select_from(ChunkRow)
                            .where(ChunkRow.set_id == set_id, ChunkRow.id.not_in(done))) or 0

    def add(self, space_id: int, set_id: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        """Store float32 vectors (one transaction: a batch is in whole or not at all)."""
        if not vectors:
            return
        with self.db.transaction() as s:
            s.execute(text(f"INSERT INTO {vec_table(space_id)} (rowid, set_id, embedding) "
                           "VALUES (:id, :set_id, :vector)"),
                      [{"id": chunk_id, "set_id": set_id, "vector": vector}
                       for chunk_id, vector in vectors])
            s.add_all(ChunkEmbeddingRow(chunk_id=chunk_id, space_id=space_id)
                      for chunk_id, _ in vectors)

    # -- search --------------------------------------------------------------------------

    def nearest(self, space_id: int, set_id: str, vector: bytes, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the k nearest chunks of the set, best first."""
        with self.db.reading() as s:
            rows = s.execute(text(
                f"SELECT rowid, distance FROM {vec_table(space_id)} WHERE embedding MATCH :q "
                "AND k = :k AND set_id = :set_id ORDER BY distance"),
                {"q": vector, "k": int(k), "set_id": set_id})
            return [(int(row[0]), 1.0 - float(row[1])) for row in rows if row[1] is not None]

    def bm25(self, set_id: str, match: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score: higher is better) for an FTS5 MATCH expression."""
        with self.db.reading() as s:
            rows = s.execute(text(
                "SELECT c.id, bm25(chunks_fts) AS rank FROM chunks_fts "
                "JOIN chunks c ON c.id = chunks_fts.rowid "
                "WHERE chunks_fts MATCH :match AND c.set_id = :set_id ORDER BY rank LIMIT :k"),
                {"match": match, "set_id": set_id, "k": int(k)})
            return [(int(row[0]), -float(row[1])) for row in rows]

    def describe_chunks(self, chunk_ids: Sequence[int]) -> dict[int, dict]:
        """What a hit shows: its text and position, its document's id, path and title."""
        if not chunk_ids:
            return {}
        with self.db.reading() as s:
            rows = s.execute(select(ChunkRow.id, ChunkRow.document_id, ChunkRow.position,
                                    ChunkRow.text, DocumentRow.path, DocumentRow.title)
                             .join(DocumentRow, DocumentRow.id == ChunkRow.document_id)
                             .where(ChunkRow.id.in_(list(chunk_ids))))
            return {row.id: {"document_id": row.document_id, "position": row.position,
                             "text": row.text, "source": row.path, "title": row.title}
                    for row in rows}
