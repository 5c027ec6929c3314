"""Split GGUF files: ``name-00001-of-00003.gguf`` and its siblings are one model.

llama.cpp loads a split model from its first part and finds the others by this naming
convention (gguf-split), so the library lists only the first part and counts all parts' bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class SplitName:
    stem: str  # the name without the part suffix
    part: int  # 1-based
    count: int


def split_name(filename: str) -> SplitName | None:
    """The split parts of a file name (any folder prefix is ignored), or None if not split."""
    match = _SPLIT.match(filename.rsplit("/", 1)[-1])
    if match is None:
        return None
    return SplitName(match["stem"], int(match["part"]), int(match["count"]))


def is_later_part(filename: str) -> bool:
    """A part other than the first: not a model of its own."""
    split = split_name(filename)
    return split is not None and split.part > 1


def part_paths(first: Path) -> list[Path]:
    """All parts of a split model given its first part (just ``[first]`` when not split)."""
    split = split_name(first.name)
    if split is None:
        return [first]
    return [first.with_name(f"{split.stem}-{n:05d}-of-{split.count:05d}.gguf")
            for n in range(1, split.count + 1)]


def model_stem(filename: str) -> str:
    """The model's name from its file: the stem, without the split suffix."""
    split = split_name(filename)
    if split is not None:
        return split.stem
    name = filename.rsplit("/", 1)[-1]
    return name[:-5] if name.lower().endswith(".gguf") else name
