"""How many CPU threads llama.cpp gets: the free cores, read from the load at host start.

llama.cpp's CPU threads meet at a barrier after every graph step and spin there until the last
one arrives. A thread whose core another process holds arrives late, so every step waits for
the scheduler to give it a turn: on a machine whose cores are all taken, asking for every core
makes decoding slower than asking for fewer (tests/bench/bench_threads.py measures it; figures
in docs/engine.md). So "auto" takes the cores the load average leaves free, at least one; a
number the user sets (``-t`` in the engine flags, ``--threads`` on the command line) is kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_THREADS = 8  # beyond this, decode is memory-bound: more threads only spin


@dataclass(frozen=True)
class ThreadChoice:
    n_threads: int
    reason: str


def machine_load() -> float | None:
    """Processes running or waiting for a core, averaged over the last minute (None where
    the system does not say, e.g. Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def choose_threads(cores: int | None, load: float | None,
                   requested: int | None = None) -> ThreadChoice:
    """``requested`` when set; else the cores the load leaves free (rounded), 1 to 8."""
    cores = max(1, cores or 1)
    if requested:
        return ThreadChoice(requested, f"{_threads(requested)} as set")
    usable = min(MAX_THREADS, cores)
    if load is None:
        return ThreadChoice(usable, f"{_threads(usable)}: {cores} cores, load unknown")
    busy = int(load + 0.5)
    free = max(1, min(usable, cores - busy))
    if free == usable:
        return ThreadChoice(free, f"{_threads(free)}: {cores} cores, load {load:.1f}")
    return ThreadChoice(free, f"{_threads(free)}, not {usable}: load {load:.1f} on {cores} cores "
                              "(a thread sharing a busy core stalls every step; -t N sets it)")


def default_threads() -> int:
    return choose_threads(os.cpu_count(), machine_load()).n_threads


def _threads(n: int) -> str:
    return "1 thread" if n == 1 else f"{n} threads"
