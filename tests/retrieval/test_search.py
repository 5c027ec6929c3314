"""Search over the corpus written for these tests: hybrid recall@5 is at least BM25's; the
embedding model can be switched (another dimension), resumably; bad queries and missing
models are told, not crashed on."""

from __future__ import annotations

import shutil

import pytest

from tests.retrieval.conftest import CORPUS, corpus_files, questions
from workbench.core.errors import WorkbenchError
from workbench.core.job_state import CANCELLED, JobState, JobWatcher
from workbench.core.retrieval import mrr, recall_at_k


@pytest.fixture(scope="module")
def city(lab):
    """The whole corpus in one set, embedded with the default (bundled) model."""
    lab.service.create_set("city")
    report = lab.service.add("city", corpus_files(), embed_model="bundled")
    assert report.added == len(corpus_files()) and report.embedded == report.chunks
    return lab.service.get_set("city")


def test_hybrid_recall_at_5_is_at_least_bm25s(lab, city):
    cases = questions()
    assert len(cases) >= 20
    scores = {}
    for mode in ("bm25", "hybrid"):
        hits = [lab.service.search("city", case["question"], mode=mode, k=5) for case in cases]
        scores[mode] = (
            sum(recall_at_k(h, c["gold"], 5) for h, c in zip(hits, cases)) / len(cases),
            sum(mrr(h, c["gold"]) for h, c in zip(hits, cases)) / len(cases))
    print(f"recall@5 / MRR: {scores}")
    assert scores["hybrid"][0] >= scores["bm25"][0]
    assert scores["bm25"][0] >= 0.8  # the corpus is answerable at all


def test_hits_say_where_they_come_from(lab, city):
    hits = lab.service.search("city", "Which bus replaces the Amber line after midnight?",
                              mode="hybrid", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    top = hits[0]
    assert top.source.endswith("transit-trams.md") and "owl bus" in top.text
    assert top.bm25_rank is not None and top.dense_rank is not None
    dense = lab.service.search("city", "ferry to Tollen Island", mode="dense", k=4)
    assert len(dense) == 4 and all(-1.0 <= h.score <= 1.0 for h in dense)
    assert dense == sorted(dense, key=lambda h: -h.score)


@pytest.mark.parametrize("query", ['"unbalanced', "fog* AND (NEAR", "-", "", "tram's:fare?"])
def test_punctuation_in_a_query_never_breaks_the_search(lab, city, query):
    for mode in ("bm25", "hybrid"):
        assert isinstance(lab.service.search("city", query, mode=mode, k=3), list)


def test_a_score_floor_drops_weak_hits(lab, city):
    every = lab.service.search("city", "lantern festival", mode="bm25", k=10)
    floor = every[1].score
    kept = lab.service.search("city", "lantern festival", mode="bm25", k=10, score_floor=floor)
    assert kept and all(h.score >= floor for h in kept) and len(kept) < len(every)


def test_dense_search_on_a_set_without_vectors_says_what_to_do(lab, tmp_path):
    lab.service.create_set("plain")
    lab.service.add("plain", [CORPUS / "markets.md"])
    assert lab.service.search("plain", "night market", mode="bm25")
    for mode in ("dense", "hybrid"):
        with pytest.raises(WorkbenchError, match="has no vectors.*docs reembed plain"):
            lab.service.search("plain", "night market", mode=mode)
    with pytest.raises(WorkbenchError, match="Unknown search mode 'fuzzy'"):
        lab.service.search("plain", "x", mode="fuzzy")


def test_a_missing_embedding_model_fails_before_any_work(lab, tmp_path):
    lab.service.create_set("early")
    with pytest.raises(WorkbenchError, match="embedding model 'no-such-model' cannot be used"):
        lab.service.add("early", [CORPUS / "markets.md"], embed_model="no-such-model")
    assert lab.service.documents("early") == []  # nothing was read
    lab.service.add("early", [CORPUS / "markets.md"])
    with pytest.raises(WorkbenchError, match=r"embedding model '/nowhere/m.gguf'"):
        lab.service.reembed("early", "/nowhere/m.gguf")
    assert lab.service.get_set("early").embedding is None


def test_switching_the_embedding_model_re_embeds_resumably(lab, gemma_model, tmp_path):
    for name in ("transit-trams.md", "transit-ferries.md", "water-utility.md", "parking.md",
                 "markets.md", "bicycles.md"):
        shutil.copy(CORPUS / name, tmp_path / name)
    from workbench.core.retrieval import ChunkingSpec

    lab.service.create_set("switch", chunking=ChunkingSpec("tokens", 24, 4))  # many chunks
    first = lab.service.add("switch", [tmp_path], embed_model="bundled")
    assert lab.service.get_set("switch").embedding.dim == 576
    total = first.chunks
    assert total > 32  # more than one embedding batch

    job = JobState("reembed")
    job.watch(JobWatcher(on_progress=lambda p: p.done > 0 and job.cancel()))
    halted = lab.service.reembed("switch", str(gemma_model), job=job)
    assert job.status == CANCELLED and 0 < halted.embedded < total
    # Not complete: the set still searches its old space, without error.
    assert lab.service.get_set("switch").embedding.dim == 576
    assert lab.service.search("switch", "ferry to Tollen Island", mode="dense", k=2)

    rest = lab.service.reembed("switch", str(gemma_model))
    assert rest.embedded == total - halted.embedded  # only what was still missing
    space = lab.service.get_set("switch").embedding
    assert (space.dim, space.pooling) == (640, "mean")
    hits = lab.service.search("switch", "Which ferry sails to Tollen Island?", mode="hybrid",
                              k=3)
    assert hits and any(h.source.endswith("transit-ferries.md") for h in hits)
    assert lab.service.reembed("switch", str(gemma_model)).embedded == 0
    # Back to the first model: its vectors are still there, nothing to embed.
    assert lab.service.reembed("switch", "bundled").embedded == 0
    assert lab.service.get_set("switch").embedding.dim == 576
