"""Per-variant summary of a comparison: mean rating, wins/losses/ties, mean speed.

Outputs counts complete answers only; failed and cancelled cells are counted apart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean

from .ratings import Preference, Rating
from .runs import Output


@dataclass(frozen=True)
class VariantSummary:
    variant_id: str
    outputs: int
    mean_rating: float | None  # stars 1–5 (thumbs are stored as 5 and 1)
    ratings: int
    wins: int
    losses: int
    ties: int
    mean_tokens_per_second: float | None
    failed: int = 0  # cells that ended in an error
    cancelled: int = 0  # cells the user stopped or that never started: no answer, no failure


def summarize(variant_ids: list[str], outputs: list[Output], ratings: list[Rating],
              preferences: list[Preference]) -> list[VariantSummary]:
    variant_of = {o.id: o.variant_id for o in outputs}
    by_variant: dict[str, list[Output]] = defaultdict(list)
    for output in outputs:
        by_variant[output.variant_id].append(output)
    # The latest rating of an output counts (a user may change their mind).
    latest: dict[str, Rating] = {}
    for rating in sorted(ratings, key=lambda r: r.created_at):
        latest[rating.output_id] = rating
    scores: dict[str, list[float]] = defaultdict(list)
    for output_id, rating in latest.items():
        if output_id in variant_of:
            scores[variant_of[output_id]].append(float(rating.score))
    record: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for preference in preferences:
        a, b = variant_of.get(preference.output_a_id), variant_of.get(preference.output_b_id)
        if a is None or b is None:
            continue
        if preference.winner == "tie":
            record[a][2] += 1
            record[b][2] += 1
        else:
            winner, loser = (a, b) if preference.winner == "a" else (b, a)
            record[winner][0] += 1
            record[loser][1] += 1
    summaries = []
    for variant_id in variant_ids:
        cells = by_variant[variant_id]
        speeds = [o.tokens_per_second for o in cells if o.tokens_per_second and o.answered]
        wins, losses, ties = record[variant_id]
        summaries.append(VariantSummary(
            variant_id=variant_id, outputs=sum(1 for o in cells if o.answered),
            failed=sum(1 for o in cells if o.error and not o.cancelled),
            cancelled=sum(1 for o in cells if o.cancelled),
            mean_rating=mean(scores[variant_id]) if scores[variant_id] else None,
            ratings=len(scores[variant_id]), wins=wins, losses=losses, ties=ties,
            mean_tokens_per_second=mean(speeds) if speeds else None,
        ))
    return summaries
