"""Human judgements of outputs: a score per output, or a preference between two."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .ids import new_id, utc_now

Winner = Literal["a", "b", "tie"]


THUMBS_UP, THUMBS_DOWN = 5, 1  # thumbs are the ends of the star scale: one mean for both


@dataclass(frozen=True)
class Rating:
    """A score from 1 to 5 stars; thumbs up and down are stored as 5 and 1."""

    output_id: str
    score: int
    rater: str = ""
    blind: bool = False
    note: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self):
        if self.score not in (1, 2, 3, 4, 5):
            raise ValueError(f"A rating is 1 to 5 stars, not {self.score}.")


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
