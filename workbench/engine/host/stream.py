"""A generation in progress: iterate it for events, cancel it, or wait for the result."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

from ...core.errors import HostRequestError, ModelProcessDied
from ...core.generation import (
    DoneEvent,
    GenerationEvent,
    GenerationRequest,
    GenerationResult,
    GenerationStats,
    TokenEvent,
)
from ...core.tokens import TokenInfo, TokenTrace
from . import wire
from .replies import Died


class _Host(Protocol):
    """What a stream needs of its ModelHost (a protocol, so this module need not import client)."""

    cancel_grace_s: float

    def send_cancel(self, request_ids: Iterable[int]) -> None: ...

    def watch_cancelled(self, request_id: int) -> None: ...


_WAKE = object()  # put on the queue by cancel() so a waiting reader re-checks its deadline


class GenerationStream:
    """Events of one request, in order: TokenEvent* then one DoneEvent.

    If the host dies, iteration raises ModelProcessDied whose ``partial_text`` holds the
    text received so far (also kept in ``self.text``).
    """

    def __init__(self, host: _Host, request_id: int, request: GenerationRequest,
                 replies: queue.Queue):
        self.host = host
        self.request_id = request_id
        self.request = request
        self._replies = replies
        self.pieces: list[str] = []
        self.token_ids: list[int] = []
        self.tokens: list[TokenInfo] = []  # as the model chose them: bytes, logprobs, top-k
        self.done: DoneEvent | None = None
        self.seed: int | None = None
        self._cancel_deadline: float | None = None
        # When the request left and its first and latest tokens arrived: the figures of a
        # stop the host never confirmed are measured here (see _cancelled_here).
        self._sent_at = time.perf_counter()
        self._first_at: float | None = None
        self._last_at: float | None = None
        self._events: Iterator[GenerationEvent] | None = None
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        return self.done.text if self.done else "".join(self.pieces)

    @property
    def cancelled(self) -> bool:
        return self._cancel_deadline is not None

    def cancel(self) -> None:
        """Ask the host to stop; iteration ends within ``host.cancel_grace_s`` either way."""
        with self._lock:
            if self._cancel_deadline is not None or self.done is not None:
                return
            self._cancel_deadline = time.monotonic() + self.host.cancel_grace_s
        self.host.send_cancel([self.request_id])
        self.host.watch_cancelled(self.request_id)
        self._replies.put(_WAKE)

    def __iter__(self) -> Iterator[GenerationEvent]:
        """One iterator per stream: iterating again continues where the last one stopped."""
        if self._events is None:
            self._events = self._read_events()
        return self._events

    def _read_events(self) -> Iterator[GenerationEvent]:
        while self.done is None:
            message = self._next_message()
            if message is None:  # the host did not confirm the cancel in time
                self.done = self._cancelled_here()
                yield self.done
                return
            kind = message["type"]
            if kind == "token":
                piece = message.get("piece")
                event = TokenEvent(message["text"], message["token"], message.get("logprob"),
                                   message.get("top"),
                                   piece=None if piece is None else wire.unpack_bytes(piece),
                                   alternatives=wire.alternatives_from_wire(message.get("alts")),
                                   forced=bool(message.get("forced")))
                self.pieces.append(event.text)
                if event.token_id >= 0:
                    self._last_at = time.perf_counter()
                    self._first_at = self._first_at or self._last_at
                    self.token_ids.append(event.token_id)
                    self.tokens.append(TokenInfo(event.token_id, event.piece or b"",
                                                 event.logprob, event.alternatives, event.forced))
                yield event
            elif kind == "done":
                self.seed = message.get("seed")
                self.done = DoneEvent(message["text"], GenerationStats(**message["stats"]))
                yield self.done
            elif kind == "error":
                raise HostRequestError(message["message"], message.get("kind", ""), message.get("reason"))

    def _next_message(self) -> dict | None:
        while True:
            deadline = self._cancel_deadline
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                message = self._replies.get(timeout=timeout)
            except queue.Empty:
                return None
            if message is _WAKE:
                continue
            if isinstance(message, Died):
                error = message.error
                raise ModelProcessDied(error.how, error.log_tail, partial_text="".join(self.pieces))
            return message

    def _cancelled_here(self) -> DoneEvent:
        """The end of a stop the host did not confirm in time. Its own figures never came, so
        these are the ones measured on this side: the tokens received, the first one's
        latency from the request, the rate between the first and the latest token (0 with
        fewer than two), as the OpenAI-compatible backend measures a remote answer."""
        now = time.perf_counter()
        count = len(self.token_ids)
        span = (self._last_at - self._first_at) if self._first_at is not None else 0.0
        stats = GenerationStats(
            prompt_tokens=0, completion_tokens=count, cached_prompt_tokens=0,
            time_to_first_token_s=(self._first_at or now) - self._sent_at,
            tokens_per_second=(count - 1) / span if count > 1 and span > 0 else 0.0,
            total_s=now - self._sent_at, finish_reason="cancelled",
        )
        return DoneEvent("".join(self.pieces), stats)

    def trace(self) -> TokenTrace:
        """The tokens received so far (all of them once the stream is done)."""
        return TokenTrace(tuple(self.tokens))

    def result(self) -> GenerationResult:
        """Consume the stream (if not yet) and return the whole generation."""
        for _ in self:
            pass
        assert self.done is not None
        return GenerationResult(self.done.text, tuple(self.token_ids), self.done.stats)
