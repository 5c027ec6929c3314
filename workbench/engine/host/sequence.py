"""One request being decoded: its prompt, sampler, streamed text and timings.

The scheduler (batch.py) decides when a sequence's tokens are computed; this module decides
what a chosen token means for the request (end of generation, a stop string, the next piece
of text to stream, its log-probability and alternatives) and what the request reports when it
ends. A branch's forced tokens come first, each treated as if the sampler had chosen it.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...core.generation import GenerationRequest, GenerationStats, TokenEvent
from ...core.stop_strings import StopStringFilter
from ...core.tokens import MAX_TOP_K, Alternative
from .distribution import token_logprobs
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
    finished: Callable[[Sequence], None]
    max_tokens: int
    token_bytes: Callable[[int], bytes]  # a token's exact bytes, special tokens spelled out
    slot: int | None = None
    scoring = False  # a ScoreSequence (scoring.py) is fed, never sampled
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
    def first_logits(self) -> int:
        """The first position whose logits the sequence needs (a cached prefix must end
        before it, so that the chunk holding it is computed)."""
        return len(self.prompt) - 1

    def wants_logits(self, position: int) -> bool:
        return position == len(self.prompt) - 1

    @property
    def kv_length(self) -> int:
        """Positions of this sequence held in its KV stream."""
        return len(self.prompt) + self.generated

    def next_forced(self) -> int | None:
        """The branch's next forced token, if the sequence has not fed them all yet."""
        forced = self.request.forced_tokens
        return forced[self.generated] if self.generated < len(forced) else None

    def accept(self, token: int, is_end: bool, piece: bytes,
               logits: Callable[[], np.ndarray] | None, forced: bool = False) -> None:
        """A token was chosen for this sequence (sampled, or forced by a branch): stream it,
        or end the sequence. ``logits`` are the ones it was chosen from (position i − 1)."""
        now = time.perf_counter()
        self.last_at = now
        if self.first_at is None:
            self.first_at = now
        if is_end and not forced:
            self.end("stop")
            return
        self.generated += 1
        shown = self._stops.feed(self._decoder.decode(piece))
        logprob = top = None
        alternatives: tuple[Alternative, ...] = ()
        k = min(self.request.sampling.logprobs, MAX_TOP_K)
        if k > 0 and logits is not None:
            logprob, best = token_logprobs(logits(), token, k)
            alternatives = tuple(Alternative(t, self.token_bytes(t), lp) for t, lp in best)
            top = {}
            for alt in alternatives:  # best first; two tokens may show the same text
                top.setdefault(alt.text, alt.logprob)
        self.emit(TokenEvent(text=shown, token_id=token, logprob=logprob, top_logprobs=top,
                             piece=self.token_bytes(token), alternatives=alternatives,
                             forced=forced))
        if is_end or self._stops.stopped:
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
                self.emit(TokenEvent(text=tail, token_id=-1, piece=b""))  # text held back
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

