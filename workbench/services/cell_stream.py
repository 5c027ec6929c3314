"""One cell of a comparison as it streams: which cells a group of columns generates, the
token trace gathered from a stream, and the text a stream had when it stopped."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.cases import TestCase
from ..core.generation import TokenEvent
from ..core.runs import CellKey
from ..core.sampling import SamplingSettings
from ..core.tokens import TokenInfo, TokenTrace


def cells_of(group, cases: Sequence[TestCase], repeats: int,
           only: set[CellKey] | None = None) -> list[tuple]:
    """The (variant, spec, case, repeat) cells of columns that share a model, case by case (a
    row of the grid fills before the next); ``only``: just these."""
    cells = []
    for case in cases:
        for repeat in range(repeats):
            for variant, spec, _ in group:
                if only is None or CellKey(variant.id, case.id, repeat) in only:
                    cells.append((variant, spec, case, repeat))
    return cells


def stream_text(stream) -> str:
    """What a stream had produced so far (a plugin's stream may not keep its text)."""
    try:
        return str(getattr(stream, "text", "") or "")
    except Exception:  # noqa: BLE001 - a broken stream must not hide the failure itself
        return ""



class TraceCollector:
    """An output's TokenTrace, gathered from its stream's token events: the ids and exact bytes
    always, the log-probability and alternatives when the variant asked for them
    (sampling.logprobs = k > 0). Events with no token (a stop string's held-back tail, a remote
    server's text chunks, id -1) are not tokens of the output."""

    def __init__(self, sampling: SamplingSettings):
        self.with_logprobs = sampling.logprobs > 0
        self.tokens: list[TokenInfo] = []

    def add(self, event: TokenEvent) -> None:
        if event.token_id < 0:
            return
        # Before the engine sent ``piece`` the text was all there was; mid-character it is
        # empty, so such a trace would not join back to the output's bytes.
        piece = event.piece if event.piece is not None else event.text.encode("utf-8")
        self.tokens.append(TokenInfo(
            event.token_id, piece, event.logprob if self.with_logprobs else None,
            tuple(event.alternatives) if self.with_logprobs else (), event.forced))

    def trace(self) -> TokenTrace | None:
        return TokenTrace(tuple(self.tokens)) if self.tokens else None
