"""Text measures shared by the evaluation checks (``rouge-l``, ``is-json``) and the quality
scorers plugin (ROUGE-L, valid JSON): one implementation, so a score and a check of the same
output can never disagree."""

from __future__ import annotations

import json
import re
from typing import Any

from rapidfuzz.distance import LCSseq

WORD = re.compile(r"\w+")
JSON_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def rouge_l(text: str, reference: str) -> float:
    """ROUGE-L F1 (Lin, 2004) over lower-cased word tokens: the longest common subsequence of
    the two token lists, as precision and recall, harmonically averaged."""
    candidate, target = WORD.findall(text.lower()), WORD.findall(reference.lower())
    if not candidate or not target:
        return 0.0
    common = LCSseq.similarity(candidate, target)
    return 2 * common / (len(candidate) + len(target))  # = 2PR / (P + R)


def json_value(text: str) -> tuple[Any, str | None]:
    """The JSON value the whole ``text`` holds (surrounding whitespace aside) and None, or
    None and why it is not JSON (json's own message)."""
    try:
        return json.loads(text.strip()), None
    except ValueError as error:
        return None, str(error)


def fenced_json(text: str) -> str | None:
    """The body of the first ```json (or bare ```) fence in ``text``, or None."""
    fenced = JSON_FENCE.search(text)
    return fenced.group(1) if fenced else None


def looks_like_json(text: str | None) -> bool:
    """An object or array that parses: what a reference must be for JSON to be expected."""
    return bool(text) and text.lstrip().startswith(("{", "[")) and json_value(text)[1] is None
