"""Length-grouped batches: rows of similar length together, so little compute goes to padding.

The same idea as transformers' LengthGroupedSampler: shuffle, cut into mega-batches, sort each
by length, cut into batches, shuffle the batches. The order depends only on (seed, epoch), so
a resumed job sees exactly the batches it would have seen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

MEGABATCH = 16  # batches per sorted group: big enough to group, small enough to stay random


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int,
                           epoch: int) -> list[list[int]]:
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    group = batch_size * MEGABATCH
    batches: list[list[int]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start:start + group], key=lambda i: -lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
