"""Simple scorers against the expected output: exact match and containment."""

from __future__ import annotations

from ..contributions import Scorer
from ..hookspecs import hookimpl

__version__ = "1.0"


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?\"'")


def exact_match(text: str, expected: str | None) -> float | None:
    return None if not expected else float(_normal(text) == _normal(expected))


def contains_expected(text: str, expected: str | None) -> float | None:
    return None if not expected else float(_normal(expected) in _normal(text))


@hookimpl
def register_scorers(register):
    register(Scorer("exact match", exact_match))
    register(Scorer("contains expected", contains_expected))
