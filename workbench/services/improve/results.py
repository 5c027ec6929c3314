"""What an improve job reports while it runs (``ImproveProgress``, one per scored candidate,
as the job's partial results) and when it ends (``ImproveOutcome``, the job's outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.improve import DONE, Candidate, ImproveJob
from .evidence import Evidence


@dataclass(frozen=True)
class PlotPoint:
    """One point of the live plot: after ``generations`` target-model calls, the best
    candidate's training pass rate (on its largest training sample) and, once measured at the
    end, the held-out pass rate of the winner (None before: the search never sees them)."""

    generations: int
    training_rate: float | None
    held_out_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"generations": self.generations, "training_rate": self.training_rate,
                "held_out_rate": self.held_out_rate}


@dataclass(frozen=True)
class ImproveProgress:
    """A job's partial result, sent after every evaluation (``JobState.add_partial``).

    ``phase``: "split", "searching", "held-out" or "done"; ``candidate``: the one just scored
    (with its lineage and evaluations so far); ``best``: the best so far on training;
    ``point``: the plot's newest point; ``round``: the search round (0: the start)."""

    phase: str
    generations: int
    budget: int
    round: int
    candidate: Candidate | None
    best: Candidate | None
    point: PlotPoint


@dataclass(frozen=True)
class Split:
    """The cases as the job split them (seeded, stratified by expected answer)."""

    seed: int
    training: tuple[str, ...]  # case ids the search sees
    held_out: tuple[str, ...]  # case ids only the final comparison sees

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "training": list(self.training),
                "held_out": list(self.held_out)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        return cls(int(data["seed"]), tuple(data["training"]), tuple(data["held_out"]))


@dataclass(frozen=True)
class Spent:
    """What the job cost: target-model calls in the search and in the held-out comparison,
    proposer calls, and seconds of work (every process that worked on it)."""

    search_generations: int = 0
    held_out_generations: int = 0
    proposer_calls: int = 0
    wall_s: float = 0.0

    @property
    def generations(self) -> int:
        return self.search_generations + self.held_out_generations

    def to_dict(self) -> dict[str, Any]:
        return {"search_generations": self.search_generations,
                "held_out_generations": self.held_out_generations,
                "generations": self.generations, "target_calls": self.generations,
                "proposer_calls": self.proposer_calls, "wall_s": round(self.wall_s, 2)}


@dataclass(frozen=True)
class ImproveOutcome:
    """The job's end. ``best`` is the best candidate on training (offered as the winner only
    when ``evidence.significant``; otherwise shown labelled "no significant improvement");
    ``evidence`` None when the job was cancelled before the held-out comparison (it can be
    resumed). ``candidates``: every candidate in the order made, with lineage and scores."""

    job: ImproveJob
    start: Candidate
    best: Candidate
    evidence: Evidence | None
    candidates: tuple[Candidate, ...]
    split: Split
    spent: Spent
    history: tuple[PlotPoint, ...] = field(default=())

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def significant(self) -> bool:
        return self.evidence is not None and self.evidence.significant

    @property
    def winner(self) -> Candidate | None:
        """The candidate offered to the user ("Use this version"), or None."""
        return self.best if self.significant and self.job.status == DONE else None

    def exit_code(self) -> int:
        """``workbench improve``: 0 a significant improvement, 100 none."""
        return 0 if self.winner is not None else 100
