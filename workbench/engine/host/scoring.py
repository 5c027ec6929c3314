"""Scoring an answer: teacher forcing in the model host (lm-eval's loglikelihood).

The prompt's tokens and then the answer's are fed like a prompt, with logits requested at the
last prompt position and at every answer position but the last: the logits at position i − 1
are the distribution answer token i is scored under. Nothing is sampled.

A score is a sequence of its own for the scheduler (batch.py): it waits for a free slot, gets
its own KV stream, reuses a cached prefix in whole aligned chunks, and its chunks are decoded
between generation steps like any prompt's — so it never touches another sequence's stream,
and scoring the same answer twice computes the same chunks the same way (identical numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...core.tokens import MAX_TOP_K, Alternative, AnswerLikelihood, TokenInfo
from .distribution import rows_logprobs


@dataclass
class ScoreSequence:
    request_id: int
    prompt: list[int]  # the prompt's tokens, then the answer's: everything fed
    context_length: int  # how many of them are the prompt's
    top_k: int
    adapter_key: tuple
    finished: Callable[[ScoreSequence], None]
    token_bytes: Callable[[int], bytes]
    slot: int | None = None
    scoring = True  # fed, never sampled (batch.py)
    position: int = 0
    cached: int = 0
    next_token: int | None = None  # never set: a score has no generation steps
    generated: int = 0
    max_tokens: int = 0
    finish: str | None = None
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    tokens: list[TokenInfo] = field(default_factory=list)

    def __post_init__(self):
        self.top_k = max(0, min(self.top_k, MAX_TOP_K))

    @property
    def prefilling(self) -> bool:
        return self.position < len(self.prompt)

    @property
    def first_logits(self) -> int:
        return self.context_length - 1

    @property
    def kv_length(self) -> int:
        return len(self.prompt)

    def wants_logits(self, position: int) -> bool:
        return self.context_length - 1 <= position < len(self.prompt) - 1

    def take_logits(self, positions: list[int], rows: np.ndarray) -> None:
        """Logits of one chunk's requested positions (row j is position ``positions[j]``):
        each scores the token after it."""
        following = [self.prompt[p + 1] for p in positions]
        for token, (logprob, best) in zip(following, rows_logprobs(rows, following, self.top_k)):
            top = tuple(Alternative(t, self.token_bytes(t), lp) for t, lp in best)
            self.tokens.append(TokenInfo(token, self.token_bytes(token), logprob, top))

    def end(self, reason: str, error: str | None = None) -> None:
        if self.finish is not None:
            return
        self.finish = reason
        self.error = error
        self.finished(self)

    def result(self) -> AnswerLikelihood:
        return AnswerLikelihood(tuple(self.tokens), self.context_length)
