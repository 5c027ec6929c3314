"""Searching a document set: BM25 (FTS5), dense (sqlite-vec KNN) and hybrid (RRF of both).

The user's query never reaches FTS5's MATCH syntax: its words are taken out and each is
quoted, OR-ed together, so punctuation, quotes or ``AND``/``NEAR`` in a question cannot break
the query. Dense search embeds the query with the model of the set's embedding space only:
vectors of two spaces are never compared.
"""

from __future__ import annotations

import re

from ...core.errors import WorkbenchError
from ...core.retrieval import SEARCH_MODES, DocumentSet, Retrieved, reciprocal_rank_fusion

WORD = re.compile(r"\w+", re.UNICODE)
MIN_BM25 = 1e-4


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: every word of ``text`` as a quoted term, any of them."""
    words = dict.fromkeys(w.lower() for w in WORD.findall(text))  # unique, in order
    return " OR ".join(f'"{w}"' for w in words)


def candidates(k: int) -> int:
    """How many hits each list contributes before fusion."""
    return max(k * 4, 20)


class Searcher:
    def __init__(self, store, embedders):
        self.store = store
        self.embedders = embedders

    def search(self, doc_set: DocumentSet, query: str, mode: str, k: int,
               score_floor: float | None) -> list[Retrieved]:
        if mode not in SEARCH_MODES:
            raise WorkbenchError(f"Unknown search mode '{mode}': choose one of "
                                 f"{', '.join(SEARCH_MODES)}.")
        if k < 1:
            raise WorkbenchError(f"k must be 1 or more, not {k}.")
        if mode != "bm25" and doc_set.embedding is None:
            raise WorkbenchError(
                f"The document set '{doc_set.name}' has no vectors, so {mode} search cannot "
                f"run: embed it first (workbench docs reembed {doc_set.name} --model bundled, "
                "or add files with --embed-model). BM25 search works without vectors.")
        if not query.strip():
            return []  # nothing to look for (and a zero vector has no cosine distance)
        n = candidates(k)
        bm25 = self._bm25(doc_set, query, n) if mode in ("bm25", "hybrid") else []
        dense = self._dense(doc_set, query, n) if mode in ("dense", "hybrid") else []
        if mode == "bm25":
            scored = bm25
        elif mode == "dense":
            scored = dense
        else:
            scored = reciprocal_rank_fusion([[i for i, _ in bm25], [i for i, _ in dense]])
        if score_floor is not None:
            scored = [(i, s) for i, s in scored if s >= score_floor]
        scored = scored[:k]
        return self._hits(scored, bm25, dense)

    def _bm25(self, doc_set: DocumentSet, query: str, n: int) -> list[tuple[int, float]]:
        match = fts_query(query)
        hits = self.store.vectors.bm25(doc_set.id, match, n) if match else []
        # FTS5 floors the IDF of a word found in over half the chunks at 1e-6: a hit on such
        # words alone ("what", "of") scores ~0 and is no evidence; kept, it would push real
        # hits down in the fused list.
        return [(chunk_id, score) for chunk_id, score in hits if score > MIN_BM25]

    def _dense(self, doc_set: DocumentSet, query: str, n: int) -> list[tuple[int, float]]:
        space = doc_set.embedding
        self.embedders.check_unchanged(space)
        space_id = self.store.retrieval.space_id_of(doc_set.id)
        vector = self.embedders.host(space.model_path).embed_packed([query])[0]
        return self.store.vectors.nearest(space_id, doc_set.id, vector, n)

    def _hits(self, scored, bm25, dense) -> list[Retrieved]:
        bm25_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(bm25, start=1)}
        dense_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(dense, start=1)}
        info = self.store.vectors.describe_chunks([chunk_id for chunk_id, _ in scored])
        hits = []
        for rank, (chunk_id, score) in enumerate(scored, start=1):
            found = info.get(chunk_id)
            if found is None:
                continue  # removed between the search and now
            hits.append(Retrieved(chunk_id=chunk_id, score=float(score), rank=rank,
                                  bm25_rank=bm25_rank.get(chunk_id),
                                  dense_rank=dense_rank.get(chunk_id), **found))
        return hits
