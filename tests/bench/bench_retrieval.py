"""Retrieval figures (issue 14): indexing throughput and hybrid query latency.

    .venv/bin/python tests/bench/bench_retrieval.py [--chunks 1000] [--corpus 10000]
        [--queries 30]

(a) Indexing ``--chunks`` chunks with the bundled model: chunks/s through the service (read,
    chunk, store, embed in the model host, store the vectors) vs direct llama-cpp-python
    ``Llama.embed`` calls on the same chunk texts, same batch size, threads and flash
    attention (the host's "auto" as llama.cpp resolved it). Goal: the
    ratio service/direct ≥ 0.9.
(b) Hybrid search over ``--corpus`` chunks (synthetic texts; random unit vectors written
    straight into the set's vec0 table, since embedding 10,000 chunks only to time a query
    would take long): median ms of ``search(mode="hybrid", k=5)``, query embedding included.
    Goal: < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from tests.retrieval.conftest import Lab  # noqa: E402
from workbench.core.retrieval import ChunkingSpec  # noqa: E402
from workbench.library.bundled import bundled_model_path  # noqa: E402
from workbench.services.retrieval.embedder import LOAD  # noqa: E402

# Real words first, then made-up ones: a vocabulary of 3,000, so that a word is in ~1% of
# 10,000 chunks (BM25 ignores words found in over half of them).
WORDS = ("tram ferry harbour lantern festival reservoir library permit market bicycle fog "
         "council clinic school bridge river meadow orchid quay bell tower tide brume").split()
_letters = random.Random(3)
WORDS += ["".join(_letters.choice("bcdfghklmnprstvz") + _letters.choice("aeiou")
                  for _ in range(3)) for _ in range(3000 - len(WORDS))]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def write_files(folder: Path, chunks: int, rng: random.Random) -> None:
    """One file per chunk: a paragraph of ~40 tokens, one chunk under ``paragraphs``."""
    folder.mkdir(parents=True)
    for i in range(chunks):
        (folder / f"doc{i:05d}.txt").write_text(f"Note {i}. " + sentence(rng, 30))


def bench_indexing(root: Path, chunks: int) -> None:
    import llama_cpp

    rng = random.Random(7)
    folder = root / "files"
    write_files(folder, chunks, rng)
    lab = Lab(root / "lab")
    try:
        service = lab.service
        # Load the embedding host first (as the app holds it open): load time is not indexing.
        host = service.embedders.host(bundled_model_path())
        threads = host.metadata.engine["n_threads"]
        service.create_set("bench", chunking=ChunkingSpec("paragraphs", 256, 0))
        start = time.perf_counter()
        report = service.add("bench", [folder], embed_model="bundled")
        service_s = time.perf_counter() - start
        texts = [c.text for c in service.chunks("bench")]
        assert report.embedded == len(texts) == chunks, report.summary()
        llm = llama_cpp.Llama(str(bundled_model_path()), embedding=True, verbose=False,
                              pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                              n_ctx=LOAD["n_batch"], n_batch=LOAD["n_batch"],
                              n_ubatch=LOAD["n_ubatch"],
                              n_threads=threads, n_threads_batch=threads,
                              flash_attn=host.metadata.engine["flash_attn"].endswith("on"))
        start = time.perf_counter()
        llm.embed(texts, normalize=True)
        direct_s = time.perf_counter() - start
        llm.close()
    finally:
        lab.close()
    print(f"(a) indexing {chunks} chunks: service {chunks / service_s:.1f} chunks/s "
          f"({service_s:.1f} s, read + chunk + store + embed), direct Llama.embed "
          f"{chunks / direct_s:.1f} chunks/s ({direct_s:.1f} s); ratio "
          f"{direct_s / service_s:.2f} (goal >= 0.9)")


def bench_query(root: Path, corpus: int, queries: int) -> None:
    rng = random.Random(11)
    lab = Lab(root / "query")
    try:
        service, store = lab.service, lab.store
        doc_set = service.create_set("big")
        from workbench.core.retrieval import ChunkView, SourceDocument

        space = service.embedders.space(service.embedders.resolve("bundled"))
        space_id = store.vectors.space_id(space)
        per_doc = 100
        for d in range(corpus // per_doc):
            document = SourceDocument(doc_set.id, f"/synthetic/{d}.txt", f"doc {d}",
                                      f"{d:064d}", 1000)
            views = [ChunkView(0, document.id, i, sentence(rng, 40), 0, 1, 50)
                     for i in range(per_doc)]
            ids = store.retrieval.save_document(document, "", views)
            vectors = np.random.default_rng(d).standard_normal((per_doc, space.dim))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.vectors.add(space_id, doc_set.id,
                              [(i, v.astype("<f4").tobytes()) for i, v in zip(ids, vectors)])
        store.retrieval.set_space(doc_set.id, space_id)
        asked = [sentence(rng, 6) for _ in range(queries)]
        service.search("big", asked[0], mode="hybrid", k=5)  # warm: host, caches, file hash
        host = service.embedders.host(space.model_path)
        times = {"hybrid": [], "bm25": [], "dense": [], "embed": []}
        for query in asked:
            for mode, found in times.items():
                start = time.perf_counter()
                if mode == "embed":  # the query's embedding alone, in the model host
                    host.embed_packed([query])
                else:
                    assert len(service.search("big", query, mode=mode, k=5)) == 5
                found.append((time.perf_counter() - start) * 1000)
    finally:
        lab.close()
    med = {mode: statistics.median(values) for mode, values in times.items()}
    print(f"(b) search over {store_count(corpus)} chunks, median of {queries}: hybrid "
          f"{med['hybrid']:.1f} ms (goal < 50), bm25 {med['bm25']:.1f} ms, dense "
          f"{med['dense']:.1f} ms (query embedding included); the query's embedding alone "
          f"{med['embed']:.1f} ms, so hybrid without it ~{med['hybrid'] - med['embed']:.1f} ms")


def store_count(corpus: int) -> str:
    return f"{corpus:,}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--corpus", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bench_query(root, args.corpus, args.queries)
        if args.chunks:  # --chunks 0: the query figure only
            bench_indexing(root, args.chunks)


if __name__ == "__main__":
    main()
