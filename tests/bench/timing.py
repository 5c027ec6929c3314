"""The timing loops the benches share: a token stream timed as the caller receives it, and a
trainer's speed read from its step events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workbench.core.generation import TokenEvent


def real_token(event) -> bool:
    """A model host's token event (not the stream's end, which carries no token)."""
    return isinstance(event, TokenEvent) and event.token_id >= 0


@dataclass(frozen=True)
class StreamTiming:
    """When a stream was opened, when its first and last tokens came (perf_counter seconds),
    and how many came."""

    started: float
    first: float
    last: float
    count: int

    @property
    def first_token_s(self) -> float:
        return self.first - self.started

    @property
    def tokens_per_s(self) -> float:
        """Decode speed after the first token (the prompt's evaluation is left out)."""
        return (self.count - 1) / (self.last - self.first)


def timed_stream(open_stream: Callable[[], Iterable],
                 is_token: Callable[[object], bool] = real_token) -> StreamTiming:
    """Open the stream (the clock starts first) and time each item ``is_token`` counts."""
    started = time.perf_counter()
    first = last = None
    count = 0
    for event in open_stream():
        if is_token(event):
            last = time.perf_counter()
            first = first or last
            count += 1
    return StreamTiming(started, first, last, count)


def training_tokens_per_s(process, name: str, from_step: int = 2) -> float:
    """Training tokens/s of a started TrainerProcess from step ``from_step`` on (model loading
    and the first step's warm-up left out), read from its step events until it ends; a
    trainer's error ends the bench, naming ``name``."""
    tokens = seconds = 0.0
    for event in process.events():
        if event.event == "step" and event.step >= from_step:
            tokens += event.get("tokens")
            seconds += event.get("tokens") / event.get("tokens_per_second")
        elif event.event == "error":
            raise SystemExit(f"{name} failed: {event.get('message')}")
    process.wait()
    return tokens / seconds
