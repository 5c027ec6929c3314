"""Improve: a search for a better prompt, as stored records (pure data).

An ``ImproveJob`` is one search over one session's prompt and checked cases; each prompt it
tried is a ``Candidate`` (a stored prompt version plus the settings it ran with), with its
lineage (parent candidate, what changed, the proposer's critique) and its ``Evaluation``s: the
samples of training cases it was scored on and, for the start and the winner, the held-out
cases. The services (``workbench/services/improve/``) write and read these through the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now

TRAINING, HELD_OUT = "training", "held-out"
# An improve job's stored status; "interrupted" is what a running job whose process died is
# shown as (its lease is free), never stored.
RUNNING, DONE, CANCELLED, FAILED, INTERRUPTED = (
    "running", "done", "cancelled", "failed", "interrupted")
# A failed job resumes too (its server back, its judge fixed): the evaluation the fault
# spoiled is run again, everything scored before it is kept.
RESUMABLE = (INTERRUPTED, CANCELLED, FAILED)


@dataclass(frozen=True)
class CandidateSettings:
    """What a candidate changes against the start, in the search's own terms.

    ``instruction`` goes into the system prompt when ``system_on``, else in front of the user
    template; ``format_line`` adds the request's answer-format line under the user template;
    ``examples`` are keys of the example pool (``u0``: the user's first example, ``b3``: a
    bootstrapped one from training case 3's passing answer), in the order shown;
    ``temperature`` None keeps the target's."""

    instruction: str = ""
    system_on: bool = True
    format_line: bool = False
    examples: tuple[str, ...] = ()
    temperature: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"instruction": self.instruction, "system_on": self.system_on,
                "format_line": self.format_line, "examples": list(self.examples),
                "temperature": self.temperature}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateSettings:
        temperature = data.get("temperature")
        return cls(str(data.get("instruction", "")), bool(data.get("system_on", True)),
                   bool(data.get("format_line", False)),
                   tuple(str(key) for key in data.get("examples", ())),
                   None if temperature is None else float(temperature))


@dataclass(frozen=True)
class Evaluation:
    """A candidate scored on a set of cases: one evaluated run of the session.

    ``stage``: training (``rung`` 0, 1, … of successive halving: bigger samples) or held-out.
    ``passed``/``total`` count units (case × repeat) with a verdict; ``generations`` the cells
    the target model was asked for. ``done`` False: the run was started and not finished
    (a resume finishes it)."""

    stage: str
    rung: int
    case_ids: tuple[str, ...]
    run_id: str | None = None
    passed: int = 0
    total: int = 0
    generations: int = 0
    done: bool = False

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "rung": self.rung, "case_ids": list(self.case_ids),
                "run_id": self.run_id, "passed": self.passed, "total": self.total,
                "generations": self.generations, "done": self.done}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        return cls(str(data["stage"]), int(data["rung"]),
                   tuple(str(c) for c in data.get("case_ids", ())), data.get("run_id"),
                   int(data.get("passed", 0)), int(data.get("total", 0)),
                   int(data.get("generations", 0)), bool(data.get("done", False)))


@dataclass(frozen=True)
class Candidate:
    """One prompt the search tried: a prompt version of the session with its settings.

    ``slot`` is its deterministic place in the search (``start``, ``r2-rewrite-1``,
    ``r2-trial-3``): a resumed search that reaches the same slot finds it stored instead of
    making it again. ``change`` says what differs from the parent, ``critique`` is the
    proposer's reason for an instruction rewrite."""

    job_id: str
    slot: str
    version_id: str
    settings: CandidateSettings
    parent_id: str | None = None
    change: str = ""
    critique: str = ""
    round: int = 0
    position: int = 0
    evaluations: tuple[Evaluation, ...] = ()
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)

    def training(self) -> Evaluation | None:
        """The finished training evaluation on the most cases (its highest rung)."""
        done = [e for e in self.evaluations if e.stage == TRAINING and e.done]
        return max(done, key=lambda e: (e.rung, len(e.case_ids)), default=None)

    def held_out(self) -> Evaluation | None:
        return next((e for e in self.evaluations if e.stage == HELD_OUT and e.done), None)

    def evaluation(self, stage: str, rung: int) -> Evaluation | None:
        return next((e for e in self.evaluations if e.stage == stage and e.rung == rung), None)

    def without_evaluation(self, stage: str, rung: int) -> Candidate:
        """This candidate as if ``stage``/``rung`` had never been evaluated (in memory)."""
        return replace(self, evaluations=tuple(
            e for e in self.evaluations if (e.stage, e.rung) != (stage, rung)))

    def with_evaluation(self, evaluation: Evaluation) -> Candidate:
        """This candidate with ``evaluation`` in place of the one of its stage and rung."""
        kept = tuple(e for e in self.evaluations
                     if (e.stage, e.rung) != (evaluation.stage, evaluation.rung))
        return replace(self, evaluations=(*kept, evaluation))


@dataclass(frozen=True)
class ImproveJob:
    """One search. ``request``: the ImproveRequest as JSON; ``split``: the training and
    held-out case ids (fixed once, seeded); ``result``: the final evidence as JSON."""

    session_id: str
    start_version_id: str
    request: dict[str, Any]
    split: dict[str, Any] = field(default_factory=dict)
    status: str = RUNNING
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0  # work time of every process that worked on it
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
