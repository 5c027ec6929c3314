"""The retrieval tables: FTS5 and vectors kept in step with chunks, what an output's prompt
contained, a variant's retrieval settings, a session's sets in its export, and the file still
opened by the standard sqlite3 module."""

from __future__ import annotations

import sqlite3
import struct

from tests.store.conftest import populate
from workbench.core.retrieval import (
    ChunkView,
    DocumentSet,
    EmbeddingSpace,
    RetrievalSettings,
    Retrieved,
    SourceDocument,
)
from workbench.store import Store
from workbench.store.exchange import export_session, import_session


def vector(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def add_document(store: Store, set_id: str, path: str, texts: list[str]) -> tuple[str, list[int]]:
    document = SourceDocument(set_id, path, path, path.ljust(64, "0")[:64], 10)
    chunks, offset = [], 0
    for position, text in enumerate(texts):
        chunks.append(ChunkView(0, document.id, position, text, offset, offset + len(text), 3))
        offset += len(text) + 1
    return document.id, store.retrieval.save_document(document, " ".join(texts), chunks)


def test_chunk_deletes_take_their_fts_rows_and_vectors(tmp_path):
    store = Store.open(tmp_path / "w.sqlite3")
    doc_set = store.retrieval.add_set(DocumentSet("s"))
    space = store.vectors.space_id(EmbeddingSpace("/m.gguf", "ab" * 32, "m", 3, "mean"))
    document_id, ids = add_document(store, doc_set.id, "/a.md", ["red tram", "blue ferry"])
    store.vectors.add(space, doc_set.id, [(ids[0], vector(1, 0, 0)), (ids[1], vector(0, 1, 0))])
    assert [i for i, _ in store.vectors.nearest(space, doc_set.id, vector(0.9, 0.1, 0), 2)] == ids
    assert [i for i, _ in store.vectors.bm25(doc_set.id, '"ferry"', 5)] == [ids[1]]
    assert store.vectors.missing(doc_set.id, space) == []

    store.retrieval.remove_document(document_id)
    assert store.vectors.bm25(doc_set.id, '"ferry"', 5) == []
    assert store.vectors.nearest(space, doc_set.id, vector(1, 0, 0), 2) == []
    _, again = add_document(store, doc_set.id, "/b.md", ["green tram"])
    assert store.vectors.missing(doc_set.id, space) == [(again[0], "green tram")]
    store.retrieval.remove_set(doc_set.id)  # cascades to documents and chunks: their triggers
    with store.db.engine.connect() as connection:
        for table in ("documents", "chunks", "chunk_embeddings", f"vec_{space}"):
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'tram'").scalar() == 0
    store.close()
    # The same file format: the standard module (no sqlite-vec) reads everything but vec_*.
    raw = sqlite3.connect(tmp_path / "w.sqlite3")
    assert raw.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT count(*) FROM embedding_spaces").fetchone()[0] == 1
    raw.close()


def test_outputs_and_variants_keep_their_retrieval(tmp_path):
    store = Store.open(tmp_path / "w.sqlite3")
    data = populate(store)
    settings = RetrievalSettings("glossary", "hybrid", k=3, score_floor=0.01)
    hit = Retrieved(7, "doc", "/docs/glossary.txt", "Glossary", 0, "cheval: horse", 0.03, 1,
                    bm25_rank=1, dense_rank=2)
    assert store.retrieval.for_output(data.outputs[0].id) is None
    store.retrieval.record_for_output(data.outputs[0].id, settings, [hit])
    assert store.retrieval.for_output(data.outputs[0].id) == (settings, [hit])
    assert store.session_variants.get(data.session.id)[0].retrieval == RetrievalSettings(
        "glossary", "bm25", k=2)
    assert store.session_variants.get(data.session.id)[1].retrieval == RetrievalSettings()
    assert all(v.retrieval == RetrievalSettings() for v in data.run.variants)

    file = tmp_path / "session.json"
    counts = export_session(store.db, data.session.id, file)
    assert (counts["document_sets"], counts["documents"], counts["chunks"],
            counts["output_retrievals"]) == (1, 1, 1, 1)
    target = Store.open(tmp_path / "b.sqlite3")
    # A chunk id already taken in the target: imported chunks are numbered anew.
    other = target.retrieval.add_set(DocumentSet("other"))
    add_document(target, other.id, "/x.md", ["taken id"])
    result = import_session(target.db, file)
    assert result.added["chunks"] == 1 and result.added["document_sets"] == 1
    glossary = target.retrieval.sets(data.session.id)[0]
    assert glossary.embedding is None  # vectors do not travel
    assert [c.text for c in target.retrieval.chunks(glossary.id)] == ["cheval: horse"]
    assert target.vectors.bm25(glossary.id, '"cheval"', 3)  # the FTS index was rebuilt
    assert target.retrieval.for_output(data.outputs[0].id) == (settings, [hit])
    assert import_session(target.db, file).total_added == 0
    store.close()
    target.close()
