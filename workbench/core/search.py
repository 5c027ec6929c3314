"""Full-text search hits, and turning what a user types into a safe FTS5 query."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "prompt_version" | "output"
    ref: str  # id of the prompt version or output
    session_id: str | None
    title: str
    snippet: str  # with the matched words between the highlight markers
    score: float  # lower is better (FTS5 bm25)


_TOKEN = re.compile(r'"[^"]*"|\S+')


def fts_query(text: str) -> str:
    """Every word must match (prefix match on the last one); quotes keep phrases together.

    Users type things like ``don't`` or ``c++`` or ``AND``: each term is quoted so nothing is
    read as FTS5 syntax.
    """
    terms = []
    for token in _TOKEN.findall(text):
        phrase = token.strip('"').replace('"', '""').strip()
        if phrase:
            terms.append(f'"{phrase}"')
    if not terms:
        return ""
    if not text.rstrip().endswith('"'):
        terms[-1] += "*"  # search as you type
    return " ".join(terms)
