"""Runs: variants of a prompt compared over test cases, and the outputs they produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from .ids import new_id, utc_now
from .retrieval import RetrievalSettings
from .sampling import SamplingSettings
from .tokens import TokenTrace

# The finish reason of a cell the user stopped, or one that never started because of the stop:
# neither an answer nor a failure, so summaries and the grid count it apart.
CANCELLED_FINISH = "cancelled"


class RunStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    # Stored as running, but the process that ran it is gone (killed, crashed, power cut):
    # its finished cells are kept, and a resume generates only the missing ones.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Variant:
    """One column of a comparison: prompt version × model × sampling × adapter."""

    run_id: str
    prompt_version_id: str
    model_path: str
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    label: str = ""
    position: int = 0
    model_sha256: str | None = None
    adapter_path: str | None = None
    adapter_scale: float = 1.0
    engine_settings: dict[str, Any] = field(default_factory=dict)
    retrieval: RetrievalSettings = RetrievalSettings()  # mode "none": no retrieved context
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class Run:
    session_id: str
    name: str = ""
    case_set_id: str | None = None
    status: RunStatus = RunStatus.PENDING
    variants: tuple[Variant, ...] = ()
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None


@dataclass(frozen=True)
class CellKey:
    """One cell of a run: a variant's answer to a case, for one repeat."""

    variant_id: str
    case_id: str
    repeat: int = 0


@dataclass(frozen=True)
class Output:
    """What one variant produced for one case, with everything needed to re-run it exactly."""

    run_id: str
    variant_id: str
    case_id: str | None
    text: str
    token_count: int = 0
    prompt_tokens: int = 0
    time_to_first_token_s: float | None = None
    tokens_per_second: float | None = None
    finish_reason: str = ""
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    seed: int | None = None
    model_path: str = ""
    model_sha256: str | None = None
    chat_template: str | None = None
    adapter_path: str | None = None
    adapter_scale: float | None = None
    engine_settings: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    total_s: float | None = None  # the whole answer, first request to last token
    repeat: int = 0  # which of a cell's repeats (each with its own recorded seed)
    # The tokens as generated: exact bytes always, log-probabilities and alternatives when the
    # variant captured them (sampling.logprobs = k); None for outputs stored before.
    token_trace: TokenTrace | None = field(default=None, repr=False, compare=False)
    # A branch: the output it was branched from, and the tokens forced at its start.
    branch_of: str | None = None
    forced_tokens: tuple[int, ...] = ()

    @property
    def cancelled(self) -> bool:
        """Stopped by the user (partial text, if any) or never started because of the stop."""
        return self.finish_reason == CANCELLED_FINISH

    @property
    def cell(self) -> CellKey | None:
        """The cell this output fills; None for a branch (an exploration, not a sample)."""
        if self.branch_of is not None or self.case_id is None:
            return None
        return CellKey(self.variant_id, self.case_id, self.repeat)

    @property
    def answered(self) -> bool:
        """A complete answer: neither failed nor cancelled."""
        return not self.error and not self.cancelled
