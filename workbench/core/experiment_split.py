"""The recorded, seeded split of an example set for the few-shot vs fine-tune experiment.

Held-out cases are what every arm is scored on; the training part is what prompts draw their
examples from and what adapters are trained on. Leakage is ruled out by construction: examples
whose inputs are equal once normalised (case, spacing) are collapsed *before* the split, so no
held-out input can appear in the training part, and ``leaks`` checks it again.

Shots are nested: one seeded order of the training part is drawn and the k-shot prompt takes
its first k. So the 4-shot prompt extends the 2-shot one, and a change in pass rate between
them comes from the added examples, not from a different draw.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from .errors import WorkbenchError


class SplitError(WorkbenchError):
    """An example set too small for the asked split and k; the message gives the numbers."""


@dataclass(frozen=True)
class Pair:
    """One example: the user's message and the answer the model should give."""

    input: str
    output: str
    source: str = ""  # where it came from (file:line), for the record

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "output": self.output, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pair:
        return cls(str(data["input"]), str(data["output"]), str(data.get("source", "")))


def normalise(text: str) -> str:
    """What counts as "the same input": case and runs of whitespace ignored."""
    return re.sub(r"\s+", " ", text).strip().casefold()


@dataclass(frozen=True)
class Split:
    seed: int
    held_out: tuple[Pair, ...]
    training: tuple[Pair, ...]
    shot_order: tuple[int, ...]  # indices into ``training``; k-shot = the first k
    examples: int  # as given, duplicates included
    duplicates: int  # removed before the split

    def shots(self, k: int) -> tuple[Pair, ...]:
        if k > len(self.training):
            raise SplitError(f"k={k} is more than the {len(self.training)} training examples.")
        return tuple(self.training[i] for i in self.shot_order[:k])

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "examples": self.examples, "duplicates": self.duplicates,
                "held_out": [p.to_dict() for p in self.held_out],
                "training": [p.to_dict() for p in self.training],
                "shot_order": list(self.shot_order)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        return cls(int(data["seed"]), tuple(Pair.from_dict(p) for p in data["held_out"]),
                   tuple(Pair.from_dict(p) for p in data["training"]),
                   tuple(int(i) for i in data["shot_order"]), int(data["examples"]),
                   int(data["duplicates"]))


def deduplicate(pairs: list[Pair]) -> tuple[list[Pair], int]:
    """The first example of each normalised input, in order, and how many were dropped."""
    seen: set[str] = set()
    kept = []
    for pair in pairs:
        key = normalise(pair.input)
        if key in seen:
            continue
        seen.add(key)
        kept.append(pair)
    return kept, len(pairs) - len(kept)


def split_examples(pairs: list[Pair], *, held_out: int, ks: list[int] | tuple[int, ...],
                   seed: int) -> Split:
    """Collapse duplicates, check the sizes, then shuffle with ``seed`` and cut."""
    if held_out < 1:
        raise SplitError(f"At least one held-out case is needed, not {held_out}.")
    bad = [k for k in ks if k < 0]
    if bad:
        raise SplitError(f"k must be 0 or more, not {bad[0]}.")
    unique, duplicates = deduplicate(pairs)
    need = max([*ks, 1])  # at least one training example, even for zero-shot only
    left = len(unique) - held_out
    if left < need:
        what = (f"{len(unique)} examples" if not duplicates else
                f"{len(unique)} distinct examples ({len(pairs)} given, {duplicates} duplicates "
                "removed)")
        if left < 0:
            raise SplitError(f"{what}: fewer than the {held_out} to hold out.")
        asked = f"k={max(ks)}" if ks and max(ks) >= 1 else "one"
        raise SplitError(f"{what}: {held_out} held out leaves {left} for training, "
                         f"fewer than {asked}.")
    order = list(range(len(unique)))
    random.Random(seed).shuffle(order)
    held = tuple(unique[i] for i in order[:held_out])
    training = tuple(unique[i] for i in order[held_out:])
    shot_order = list(range(len(training)))
    # A second stream from the same seed: changing held_out does not reshuffle the shots' rule.
    random.Random(f"shots-{seed}").shuffle(shot_order)
    return Split(seed, held, training, tuple(shot_order), len(pairs), duplicates)


def leaks(split: Split) -> list[str]:
    """Held-out inputs that also appear (normalised) in the training part: empty when clean."""
    training = {normalise(p.input) for p in split.training}
    return [p.input for p in split.held_out if normalise(p.input) in training]
