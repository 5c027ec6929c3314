"""Grounding: are the quotes in an answer really in the chunks its prompt contained?

An answer's quotes ("…", “…”, «…» and ``>`` blockquotes) and citations (``[1]``, ``[2, 3]``,
``[source: handbook.md]``) are read; each quote is looked up *verbatim* in the chunks, after
normalising only what a model cannot be blamed for: runs of whitespace, curly vs straight
quote marks, and punctuation a sentence adds around a quote. Case counts: a quote with other
capitals is not the source's words.

- **supported**: in a chunk it cites, or, uncited, in some chunk;
- **misattributed**: in a chunk, but not in any chunk it cites;
- **fabricated**: in no chunk.

Citations belong to a quote when they follow it in the same sentence (``"…" [2]``), else when
they come before it in that sentence (``According to [2], "…"``). Numbers count the chunks as
the ``{{ context }}`` block numbers them (1 = the first). Quotes of fewer than
``MIN_QUOTE_WORDS`` words are left alone: those are scare quotes and titles, not claims.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from .retrieval import Retrieved

SUPPORTED, MISATTRIBUTED, FABRICATED = "supported", "misattributed", "fabricated"
MIN_QUOTE_WORDS = 3

_QUOTE_PATTERNS = (
    re.compile(r'"((?:[^"\n]|\n(?![ \t]*\n)){2,}?)"'),  # a line break, not a blank line
    re.compile(r"“([^”]{2,}?)”"),
    re.compile(r"«\s?([^»]{2,}?)\s?»"),
)
_BLOCKQUOTE = re.compile(r"(?:^[ \t]*>[^\n]*(?:\n|$))+", re.MULTILINE)
_NUMBERS = re.compile(r"\[(\d+(?:\s*(?:,|-|–)\s*\d+)*)\]")
_SOURCE = re.compile(r"\[\s*source\s*:\s*([^\]]+)\]", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[…\]|\[\.\.\.\])\s*")
_EDGE_PUNCTUATION = ",.;:!? "
_TRANSLATE = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'",
                            "\u00a0": " "})


@dataclass(frozen=True)
class Citation:
    """``[2]`` → number 2; ``[source: handbook.md]`` → name "handbook.md"."""

    start: int
    end: int
    number: int | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return f"[{self.number}]" if self.number is not None else f"[source: {self.name}]"


@dataclass(frozen=True)
class Quote:
    text: str  # as written, without its quote marks
    start: int  # where it stands in the answer (characters)
    end: int
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class QuoteCheck:
    quote: Quote
    status: str  # SUPPORTED, MISATTRIBUTED or FABRICATED
    found_in: tuple[int, ...]  # chunk numbers (1-based) whose text contains it
    cited: tuple[int, ...]  # chunk numbers its citations point to (existing ones only)

    def describe(self) -> str:
        text = self.quote.text if len(self.quote.text) <= 60 else self.quote.text[:59] + "…"
        where = ""
        if self.status == MISATTRIBUTED:
            cites = ", ".join(c.label for c in self.quote.citations)
            where = f" (cited {cites}; found in {_chunk_list(self.found_in)})"
        elif self.status == SUPPORTED and self.found_in:
            where = f" ({_chunk_list(self.cited or self.found_in)})"
        return f"{self.status}: “{text}”{where}"


@dataclass(frozen=True)
class GroundingReport:
    checks: tuple[QuoteCheck, ...]
    citations: tuple[Citation, ...]  # every citation in the answer
    unknown_citations: tuple[Citation, ...]  # ones naming no chunk of the prompt
    chunks: int  # how many chunks the prompt contained

    def count(self, status: str) -> int:
        return sum(1 for check in self.checks if check.status == status)

    @property
    def supported(self) -> int:
        return self.count(SUPPORTED)

    @property
    def misattributed(self) -> int:
        return self.count(MISATTRIBUTED)

    @property
    def fabricated(self) -> int:
        return self.count(FABRICATED)

    @property
    def passed(self) -> bool:
        """No quote fabricated and none misattributed (an answer without quotes passes)."""
        return not self.fabricated and not self.misattributed

    @property
    def share_supported(self) -> float:
        """Supported quotes among all checked; 1.0 when there were none to check."""
        return self.supported / len(self.checks) if self.checks else 1.0

    def summary(self) -> str:
        """"2 quotes supported · 1 fabricated" (what a grid cell shows)."""
        if not self.checks:
            return "no quotes to check"
        parts = [(SUPPORTED, self.supported), (MISATTRIBUTED, self.misattributed),
                 (FABRICATED, self.fabricated)]
        shown = [f"{n} {status}" for status, n in parts if n]
        noun = "quote" if len(self.checks) == 1 else "quotes"
        return f"{len(self.checks)} {noun}: " + " · ".join(shown)

    def details(self) -> str:
        """One line per quote, then citations that name no chunk."""
        lines = [check.describe() for check in self.checks]
        if self.unknown_citations:
            lines.append("citations naming no chunk of the prompt: "
                         + ", ".join(c.label for c in self.unknown_citations))
        return "\n".join(lines)


def normalise(text: str) -> str:
    """Whitespace runs → one space, curly quotes → straight; case and words untouched."""
    return " ".join(text.translate(_TRANSLATE).split())


def find_citations(answer: str) -> list[Citation]:
    found: list[Citation] = []
    for match in _NUMBERS.finditer(answer):
        for number in _numbers(match.group(1)):
            found.append(Citation(match.start(), match.end(), number=number))
    for match in _SOURCE.finditer(answer):
        for name in match.group(1).split(","):
            if name.strip():
                found.append(Citation(match.start(), match.end(), name=name.strip()))
    return sorted(found, key=lambda c: (c.start, c.number or 0))


def extract_quotes(answer: str) -> list[Quote]:
    """Quotes of at least MIN_QUOTE_WORDS words, in order, each with its citations."""
    spans: list[tuple[int, int, str]] = []
    for match in _BLOCKQUOTE.finditer(answer):
        lines = [re.sub(r"^[ \t]*>\s?", "", line) for line in match.group(0).splitlines()]
        text = " ".join(line for line in lines if line.strip())
        spans.append((match.start(), match.end(), _strip_citations(text)))
    for pattern in _QUOTE_PATTERNS:
        for match in pattern.finditer(answer):
            if any(start <= match.start() < end for start, end, _ in spans):
                continue  # inside a blockquote, or overlapping a quote already taken
            spans.append((match.start(), match.end(), _strip_citations(match.group(1))))
    spans.sort()
    citations = find_citations(answer)
    quotes, claimed = [], set()
    for index, (start, end, text) in enumerate(spans):
        following = spans[index + 1][0] if index + 1 < len(spans) else len(answer)
        previous = spans[index - 1][1] if index else 0
        # A citation already taken by the quote before is not this one's.
        free = [c for c in citations if (c.start, c.number, c.name) not in claimed]
        own = _own_citations(answer, start, end, previous, following, free)
        claimed |= {(c.start, c.number, c.name) for c in own}
        if len(text.split()) >= MIN_QUOTE_WORDS:
            quotes.append(Quote(text.strip(), start, end, own))
    return quotes


def check_grounding(answer: str, chunks: Sequence[Retrieved]) -> GroundingReport:
    """Every quote of ``answer`` against ``chunks`` (in the order the prompt numbered them)."""
    texts = [normalise(chunk.text) for chunk in chunks]
    citations = find_citations(answer)
    unknown = tuple(c for c in citations if not _resolve(c, chunks))
    checks = []
    for quote in extract_quotes(answer):
        found = tuple(n for n, text in enumerate(texts, 1) if _contains(text, quote.text))
        cited = tuple(sorted({n for c in quote.citations for n in _resolve(c, chunks)}))
        if not found:
            status = FABRICATED
        elif quote.citations and not set(found) & set(cited):
            status = MISATTRIBUTED
        else:
            status = SUPPORTED
        checks.append(QuoteCheck(quote, status, found, cited))
    return GroundingReport(tuple(checks), tuple(citations), unknown, len(chunks))


# -- helpers ------------------------------------------------------------------------------

def _numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", text):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and int(bounds[1]) >= int(bounds[0]) and \
                int(bounds[1]) - int(bounds[0]) < 50:
            numbers.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            numbers.extend(int(b) for b in bounds)
    return numbers


def _strip_citations(text: str) -> str:
    return _SOURCE.sub("", _NUMBERS.sub("", text)).strip()


def _own_citations(answer: str, start: int, end: int, previous: int, following: int,
                   citations: list[Citation]) -> tuple[Citation, ...]:
    """Citations inside a blockquote, else after the quote up to the end of its sentence (or
    the next quote), else before it back to the sentence's start (or the previous quote)."""
    inside = [c for c in citations if start <= c.start and c.end <= end]
    if inside:
        return tuple(inside)
    stop = following
    sentence_end = _SENTENCE_END.search(answer, end)
    if sentence_end is not None:
        # Citations right after the full stop (`… bold." [1]`) still belong to the quote.
        position = sentence_end.end()
        while (cited := _citation_at(answer, position)) is not None:
            position = cited
        stop = min(stop, position)
    after = tuple(c for c in citations if end <= c.start and c.end <= stop)
    if after:
        return after
    begin = previous
    for match in _SENTENCE_END.finditer(answer, previous, start):
        begin = match.end()
    return tuple(c for c in citations if begin <= c.start and c.end <= start)


def _citation_at(answer: str, position: int) -> int | None:
    """The end of a citation starting at ``position`` (spaces skipped), or None."""
    while position < len(answer) and answer[position] in " \t":
        position += 1
    match = _NUMBERS.match(answer, position) or _SOURCE.match(answer, position)
    return match.end() if match else None


def _resolve(citation: Citation, chunks: Sequence[Retrieved]) -> list[int]:
    """Chunk numbers (1-based) a citation points to; [] when none."""
    if citation.number is not None:
        return [citation.number] if 1 <= citation.number <= len(chunks) else []
    wanted = citation.name.strip().strip("'\"").casefold()
    matches = []
    for number, chunk in enumerate(chunks, 1):
        path = PurePath(chunk.source) if chunk.source else None
        names = {chunk.title.casefold(), chunk.source.casefold()}
        if path is not None:
            names |= {path.name.casefold(), path.stem.casefold()}
        if wanted in names:
            matches.append(number)
    return matches


def _contains(haystack: str, quote: str) -> bool:
    """Verbatim after normalising; an ellipsis in the quote stands for left-out words, so
    the pieces must appear in order."""
    needle = normalise(quote)
    if _in_order(haystack, _ELLIPSIS.split(needle)):
        return True
    trimmed = needle.strip(_EDGE_PUNCTUATION)  # `"… is blue,"` quotes "… is blue."
    return bool(trimmed) and _in_order(haystack, _ELLIPSIS.split(trimmed))


def _in_order(haystack: str, pieces: list[str]) -> bool:
    cursor = 0
    pieces = [p.strip(" ") for p in pieces if p.strip(_EDGE_PUNCTUATION)]
    if not pieces:
        return False
    for piece in pieces:
        found = haystack.find(piece, cursor)
        if found < 0:
            return False
        cursor = found + len(piece)
    return True


def _chunk_list(numbers: tuple[int, ...]) -> str:
    return ", ".join(f"[{n}]" for n in numbers) or "none"
