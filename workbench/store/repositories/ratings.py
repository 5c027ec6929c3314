"""Ratings and pairwise preferences."""

from __future__ import annotations

from sqlalchemy import or_, select

from ...core.ratings import Preference, Rating
from ..database import Database
from ..schema import OutputRow, PreferenceRow, RatingRow


def to_rating(row: RatingRow) -> Rating:
    return Rating(output_id=row.output_id, score=row.score, rater=row.rater, blind=row.blind,
                  note=row.note, id=row.id, created_at=row.created_at)


def to_preference(row: PreferenceRow) -> Preference:
    return Preference(output_a_id=row.output_a_id, output_b_id=row.output_b_id,
                      winner=row.winner, rater=row.rater, blind=row.blind, note=row.note,
                      id=row.id, created_at=row.created_at)


def _outputs_of(run_id: str):
    return select(OutputRow.id).where(OutputRow.run_id == run_id)


class RatingRepository:
    def __init__(self, db: Database):
        self.db = db

    def rate(self, rating: Rating) -> Rating:
        with self.db.transaction() as s:
            s.add(RatingRow(id=rating.id, output_id=rating.output_id, score=rating.score,
                            rater=rating.rater, blind=rating.blind, note=rating.note,
                            created_at=rating.created_at))
        return rating

    def prefer(self, preference: Preference) -> Preference:
        with self.db.transaction() as s:
            s.add(PreferenceRow(id=preference.id, output_a_id=preference.output_a_id,
                                output_b_id=preference.output_b_id, winner=preference.winner,
                                rater=preference.rater, blind=preference.blind,
                                note=preference.note, created_at=preference.created_at))
        return preference

    def ratings_for(self, output_ids: list[str]) -> list[Rating]:
        with self.db.reading() as s:
            rows = s.scalars(select(RatingRow).where(RatingRow.output_id.in_(output_ids))
                             .order_by(RatingRow.created_at)).all()
            return [to_rating(r) for r in rows]

    def ratings_in_run(self, run_id: str) -> list[Rating]:
        """``ratings_for`` every output of the run, without listing the outputs."""
        with self.db.reading() as s:
            rows = s.scalars(select(RatingRow).where(RatingRow.output_id.in_(
                _outputs_of(run_id))).order_by(RatingRow.created_at)).all()
            return [to_rating(r) for r in rows]

    def preferences_in_run(self, run_id: str) -> list[Preference]:
        """``preferences_for`` every output of the run, without listing the outputs."""
        outputs = _outputs_of(run_id)
        with self.db.reading() as s:
            rows = s.scalars(select(PreferenceRow).where(or_(
                PreferenceRow.output_a_id.in_(outputs), PreferenceRow.output_b_id.in_(outputs)))
                .order_by(PreferenceRow.created_at)).all()
            return [to_preference(r) for r in rows]

    def preferences_for(self, output_ids: list[str]) -> list[Preference]:
        with self.db.reading() as s:
            rows = s.scalars(select(PreferenceRow).where(or_(
                PreferenceRow.output_a_id.in_(output_ids),
                PreferenceRow.output_b_id.in_(output_ids))).order_by(PreferenceRow.created_at)).all()
            return [to_preference(r) for r in rows]
