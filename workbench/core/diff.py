"""Word-level differences between two texts, for outputs and prompt versions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Op = Literal["equal", "insert", "delete"]
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class DiffPart:
    op: Op
    text: str


def word_diff(old: str, new: str) -> list[DiffPart]:
    """Parts that rebuild ``old`` (equal + delete) and ``new`` (equal + insert)."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    parts: list[DiffPart] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("equal", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            parts.append(DiffPart("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            parts.append(DiffPart("insert", "".join(b[j1:j2])))
    return parts


def similarity(old: str, new: str) -> float:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def version_text(system_prompt: str, examples, user_template: str) -> str:
    """A prompt version as one readable text, so two versions diff like documents."""
    lines = ["System:", system_prompt, ""]
    for number, example in enumerate(examples, 1):
        state = "" if example.enabled else " (disabled)"
        lines += [f"Example {number}{state}:", f"  in:  {example.input}",
                  f"  out: {example.output}", ""]
    lines += ["Template:", user_template]
    return "\n".join(lines)
