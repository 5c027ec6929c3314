"""The cases split once, seeded, into training (the search sees them) and held-out (only the
final comparison does), stratified by expected answer where the cases have one: each answer
keeps its share on both sides, so a held-out set is not all "positive" by chance."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence

from ...core.cases import TestCase
from ...core.errors import WorkbenchError
from ...core.experiment_split import normalise
from .results import Split

MIN_CASES = 4  # two on each side: fewer says nothing


def stratum(case: TestCase) -> str:
    """Cases with the same expected answer (case and spacing ignored) go together."""
    return normalise(case.expected) if case.expected else ""


def split_cases(cases: Sequence[TestCase], fraction: float, seed: int) -> Split:
    """``fraction`` of the cases held out (at least one, leaving at least one for training),
    each stratum shuffled with its own seeded stream and cut in proportion; the strata's
    leftover places go to the strata with the largest remainders (ties: by name)."""
    if len(cases) < MIN_CASES:
        raise WorkbenchError(f"Improve needs at least {MIN_CASES} checked cases to split into "
                             f"training and held-out; the session has {len(cases)}.")
    groups: dict[str, list[TestCase]] = defaultdict(list)
    for case in cases:
        groups[stratum(case)].append(case)
    wanted = min(len(cases) - 1, max(1, round(len(cases) * fraction)))
    shares = {key: len(group) * wanted / len(cases) for key, group in groups.items()}
    counts = {key: math.floor(share) for key, share in shares.items()}
    leftover = wanted - sum(counts.values())
    for key in sorted(groups, key=lambda k: (-(shares[k] - counts[k]), k))[:leftover]:
        counts[key] += 1
    held: set[str] = set()
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda c: c.position)
        random.Random(f"improve-split-{seed}-{key}").shuffle(group)
        held.update(case.id for case in group[:counts[key]])
    ordered = sorted(cases, key=lambda c: c.position)
    return Split(seed, tuple(c.id for c in ordered if c.id not in held),
                 tuple(c.id for c in ordered if c.id in held))


def rung_sizes(training: int, rungs: int = 3) -> list[int]:
    """Successive halving's sample sizes, smallest first, ending with every training case
    (e.g. 40 → 10, 20, 40); never fewer than 2 cases a rung."""
    sizes = [max(2, math.ceil(training / 2 ** (rungs - 1 - r))) for r in range(rungs)]
    return sorted(set(min(training, s) for s in sizes))


def round_order(training: Sequence[str], seed: int, round_number: int) -> list[str]:
    """The training cases in this round's seeded order: rung r's sample is its first
    ``rung_sizes()[r]`` (samples are nested, and every candidate of a round sees the same)."""
    order = list(training)
    random.Random(f"improve-round-{seed}-{round_number}").shuffle(order)
    return order
