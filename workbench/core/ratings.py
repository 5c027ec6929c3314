"""Human judgements of outputs: a score per output, or a preference between two."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .ids import new_id, utc_now

Winner = Literal["a", "b", "tie"]


@dataclass(frozen=True)
class Rating:
    """A score: 1–5 stars, or thumbs as +1 / -1."""

    output_id: str
    score: int
    rater: str = ""
    blind: bool = False
    note: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self):
        if self.score not in (-1, 1, 2, 3, 4, 5):
            raise ValueError(f"A rating is 1–5 stars or ±1 thumbs, not {self.score}.")


@dataclass(frozen=True)
class Preference:
    """A pairwise judgement between two outputs for the same case; ties allowed."""

    output_a_id: str
    output_b_id: str
    winner: Winner
    rater: str = ""
    blind: bool = True
    note: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
