"""One request being decoded: its prompt, sampler, streamed text and timings.

The scheduler (batch.py) decides when a sequence's tokens are computed; this module decides
what a sampled token means for the request (end of generation, a stop string, the next piece
of text to stream) and what the request reports when it ends.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...core.generation import GenerationRequest, GenerationStats, TokenEvent
from ...core.stop_strings import StopStringFilter
from .sampler import TokenSampler

Emit = Callable[[TokenEvent], None]


@dataclass
class Sequence:
    request_id: int
    request: GenerationRequest
    prompt: list[int]
    sampler: TokenSampler
    seed: int
    adapter_key: tuple
    emit: Emit
    finished: Callable[["Sequence"], None]
    max_tokens: int
    token_text: Callable[[int], str]  # for naming the alternatives of a token
    slot: int | None = None
    position: int = 0  # prompt tokens in the KV cache so far
    cached: int = 0  # prompt tokens taken from the cache instead of computed
    next_token: int | None = None  # sampled, to be fed on the next generation step
    generated: int = 0
    finish: str | None = None
    started: float = field(default_factory=time.perf_counter)
    first_at: float | None = None
    last_at: float | None = None
    error: str | None = None  # why the sequence failed (finish == "error")
    _stops: StopStringFilter = field(init=False)
    _decoder: codecs.IncrementalDecoder = field(init=False)

    def __post_init__(self):
        self._stops = StopStringFilter(self.request.sampling.stop)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @property
    def prefilling(self) -> bool:
        return self.position < len(self.prompt)

    @property
    def kv_length(self) -> int:
        """Positions of this sequence held in its KV stream."""
        return len(self.prompt) + self.generated

    def accept(self, token: int, is_end: bool, piece: bytes,
               logits: Callable[[], np.ndarray] | None) -> None:
        """A token was sampled for this sequence: stream it, or end the sequence."""
        now = time.perf_counter()
        self.last_at = now
        if self.first_at is None:
            self.first_at = now
        if is_end:
            self.end("stop")
            return
        self.generated += 1
        shown = self._stops.feed(self._decoder.decode(piece))
        logprob = top = None
        k = self.request.sampling.logprobs
        if k and logits is not None:
            logprob, top = top_logprobs(logits(), token, k, self.token_text)
        self.emit(TokenEvent(text=shown, token_id=token, logprob=logprob, top_logprobs=top))
        if self._stops.stopped:
            self.end("stop")
        elif self.generated >= self.max_tokens:
            self.end("length")
        else:
            self.next_token = token

    def end(self, reason: str, error: str | None = None) -> None:
        if self.finish is not None:
            return
        self.finish = reason
        self.error = error
        self.next_token = None
        if not self._stops.stopped:
            tail = self._stops.flush()
            if tail:
                self.emit(TokenEvent(text=tail, token_id=-1))
        self.sampler.close()
        self.finished(self)

    @property
    def text(self) -> str:
        return self._stops.text

    def stats(self) -> GenerationStats:
        end = time.perf_counter()
        span = (self.last_at - self.first_at) if (self.first_at and self.last_at) else 0.0
        return GenerationStats(
            prompt_tokens=len(self.prompt),
            completion_tokens=self.generated,
            cached_prompt_tokens=self.cached,
            time_to_first_token_s=(self.first_at or end) - self.started,
            tokens_per_second=((self.generated - 1) / span) if span > 0 and self.generated > 1
            else 0.0,
            total_s=end - self.started,
            finish_reason=self.finish or "length",
        )


def top_logprobs(logits: np.ndarray, token: int, k: int,
                 token_text: Callable[[int], str]) -> tuple[float, dict[str, float]]:
    """The chosen token's log-probability and the k most likely alternatives, from the
    model's raw distribution (before penalties and truncation)."""
    values = logits.astype(np.float64)
    shifted = values - values.max()
    logprobs = shifted - np.log(np.exp(shifted).sum())
    best = np.argpartition(-logprobs, k)[:k]
    best = best[np.argsort(-logprobs[best])]
    top = {token_text(int(t)): float(logprobs[t]) for t in best}
    return float(logprobs[token]), top
