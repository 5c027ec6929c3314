"""Scorers: ROUGE-L F1 against the expected output, and 'is valid JSON'."""

from __future__ import annotations

import json
import re

from workbench.plugins import hookimpl
from workbench.plugins.contributions import Scorer

__version__ = "1.0"

WORD = re.compile(r"\w+")


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(text: str, expected: str | None) -> float | None:
    """F1 of the longest common word subsequence (Lin, 2004)."""
    if not expected:
        return None
    candidate, reference = WORD.findall(text.lower()), WORD.findall(expected.lower())
    if not candidate or not reference:
        return 0.0
    common = _lcs(candidate, reference)
    if common == 0:
        return 0.0
    precision, recall = common / len(candidate), common / len(reference)
    return 2 * precision * recall / (precision + recall)


def json_valid(text: str, expected: str | None) -> float | None:
    """1.0 if the output (or a ```json fenced block in it) parses as JSON, else 0.0; no score
    (None) for plain prose when JSON was not asked for, where a 0 would only be noise."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    body = fenced.group(1) if fenced else text
    if not fenced and not body.lstrip().startswith(("{", "[")) and not _is_json(expected):
        return None
    try:
        json.loads(body)
    except ValueError:
        return 0.0
    return 1.0


def _is_json(text: str | None) -> bool:
    if not text or not text.lstrip().startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@hookimpl
def register_scorers(register):
    register(Scorer("ROUGE-L", rouge_l))
    register(Scorer("valid JSON", json_valid))
