"""How well a variant's retrieval found the passages a case names as its gold sources.

A case names its gold sources by file name (``gold_sources`` or ``__gold_sources``, comma
separated, e.g. ``handbook.md, refunds.md``); a retrieved chunk matches when its file's path
ends with one of them (``core/retrieval.py``'s ``recall_at_k`` and ``mrr``, the ones the
retrieval lab's own scoring uses). Per variant, over the cases that name gold
sources and whose outputs recorded what was retrieved (each case once, whatever its repeats):

- recall@k: the share of a case's gold sources found among its k retrieved chunks, averaged;
- MRR: the mean of 1/rank of the first chunk from a gold source (0 when none came back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from .retrieval import Retrieved, mrr, recall_at_k


@dataclass(frozen=True)
class RetrievalScore:
    variant_id: str
    label: str
    k: int  # the variant's k
    cases: int  # cases with gold sources and recorded chunks
    recall: float | None  # mean recall@k (None: no case to score)
    mrr: float | None

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.recall is None:
            return f"{self.label}: no case names gold sources"
        return (f"{self.label}: recall@{self.k} {self.recall:.2f} · MRR {self.mrr:.2f} over "
                f"{self.cases} case{'s' if self.cases != 1 else ''}")


def score_retrieval(variants: Sequence[tuple[str, str]],
                    rows: Iterable[tuple[str, str, Sequence[str], Sequence[Retrieved]]],
                    k_of: Mapping[str, int] | None = None) -> tuple[RetrievalScore, ...]:
    """``rows``: (variant id, case id, gold sources, retrieved chunks) per output; repeats of
    a case count once (they retrieved the same chunks). ``k_of``: each variant's k (a search
    may return fewer hits); default: the most chunks any of its cases got. Variants with
    nothing to score are left out."""
    per_variant: dict[str, dict[str, tuple[Sequence[str], Sequence[Retrieved]]]] = {}
    for variant_id, case_id, gold, retrieved in rows:
        if gold:
            per_variant.setdefault(variant_id, {}).setdefault(case_id, (gold, retrieved))
    scores = []
    for variant_id, label in variants:
        cases = per_variant.get(variant_id)
        if not cases:
            continue
        k = (k_of or {}).get(variant_id) or max((len(r) for _, r in cases.values()), default=0)
        recalls = [recall_at_k(r, g, k) for g, r in cases.values()]
        ranks = [mrr(r, g) for g, r in cases.values()]
        scores.append(RetrievalScore(variant_id, label, k, len(cases),
                                     sum(recalls) / len(recalls), sum(ranks) / len(ranks)))
    return tuple(scores)
