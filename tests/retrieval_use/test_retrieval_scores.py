"""recall@k and MRR from gold sources, per variant (pure; the per-query measures are the
retrieval lab's own, core/retrieval.py)."""

from __future__ import annotations

import pytest

from workbench.core.retrieval import Retrieved, mrr, recall_at_k
from workbench.core.retrieval_scores import score_retrieval


def hit(rank: int, source: str) -> Retrieved:
    return Retrieved(rank, "d", f"/docs/{source}", source, 0, "text", 1.0, rank)


HITS = [hit(1, "refunds.md"), hit(2, "handbook.md"), hit(3, "security.md")]


def test_recall_and_reciprocal_rank():
    assert recall_at_k(HITS, ["handbook.md"], 1) == 0.0
    assert recall_at_k(HITS, ["handbook.md"], 2) == 1.0
    assert recall_at_k(HITS, ["docs/handbook.md", "missing.md"], 3) == 0.5  # a path's end
    assert mrr(HITS, ["security.md"]) == pytest.approx(1 / 3)
    assert mrr(HITS, ["missing.md"]) == 0.0


def test_scores_per_variant_count_each_case_once():
    rows = [("bm25", "c1", ("handbook.md",), HITS), ("bm25", "c1", ("handbook.md",), HITS),
            ("bm25", "c2", ("refunds.md",), HITS), ("bm25", "c3", (), HITS),
            ("none", "c1", ("handbook.md",), [])]
    scores = score_retrieval([("none", "without"), ("bm25", "with"), ("dense", "idle")], rows)
    assert [s.label for s in scores] == ["without", "with"]
    without, with_ = scores
    assert (with_.cases, with_.k, with_.recall) == (2, 3, 1.0)
    assert with_.mrr == pytest.approx((1 / 2 + 1) / 2)
    assert (without.recall, without.mrr) == (0.0, 0.0)
    assert with_.line() == "with: recall@3 1.00 · MRR 0.75 over 2 cases"
