"""Cutting a document into chunks (core.retrieval.ChunkingSpec), with exact character offsets.

Sizes are in the model's own tokens: the text is tokenized once in the model host and each
token's exact bytes (``ModelHost.pieces``) give its character span, so a chunk's ``start`` and
``end`` index the document's text and ``text[start:end] == chunk.text`` always holds (a chunk
view draws its boundaries from them). Strategies:

* ``tokens``: windows of ``size`` tokens, each starting ``size - overlap`` tokens after the last.
* ``headings``: one chunk per markdown section (a ``#`` line starts one); a longer section is
  cut like ``tokens``.
* ``sentences`` / ``paragraphs``: whole units packed while they fit in ``size`` tokens; a unit
  longer than that is cut like ``tokens``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Protocol

from ...core.errors import WorkbenchError
from ...core.retrieval import CHUNK_STRATEGIES, EMBEDDING_WINDOW, ChunkingSpec, ChunkView

Span = tuple[int, int]  # [start, end) in characters


class Tokenizer(Protocol):
    def tokenize(self, text: str, *, add_special: bool = True,
                 parse_special: bool = True) -> list[int]: ...

    def pieces(self, ids: list[int]) -> list[bytes]: ...


def check_spec(spec: ChunkingSpec, *, window: int | None = EMBEDDING_WINDOW) -> ChunkingSpec:
    """``spec``, or WorkbenchError naming what is wrong with it. ``window``: the most tokens
    a chunk may have (None: no limit, for chunking under a spec stored earlier)."""
    if spec.strategy not in CHUNK_STRATEGIES:
        raise WorkbenchError(f"Unknown chunking '{spec.strategy}': choose one of "
                             f"{', '.join(CHUNK_STRATEGIES)}.")
    if spec.size < 8:
        raise WorkbenchError(f"A chunk size of {spec.size} tokens is too small (8 at least).")
    if window is not None and spec.size > window:
        raise WorkbenchError(
            f"A chunk size of {spec.size} tokens is larger than the embedding window "
            f"({window} tokens): a dense search would see only its first {window} tokens. "
            f"Choose {window} or less.")
    if not 0 <= spec.overlap < spec.size:
        raise WorkbenchError(f"The overlap ({spec.overlap} tokens) must be at least 0 and less "
                             f"than the chunk size ({spec.size}).")
    return spec


def token_spans(tokenizer: Tokenizer, text: str) -> list[Span]:
    """Each token's character span in ``text`` (no BOS; special-looking text is text)."""
    ids = tokenizer.tokenize(text, add_special=False, parse_special=False)
    pieces = tokenizer.pieces(ids) if ids else []
    data = text.encode("utf-8")
    if len(data) == len(text) and b"".join(pieces) == data:
        # ASCII: a byte offset is a character offset.
        spans, offset = [], 0
        for piece in pieces:
            spans.append((offset, offset + len(piece)))
            offset += len(piece)
        return spans
    if b"".join(pieces) == data:
        # Byte offset -> character offset; a token that ends inside a character (byte-level
        # BPE splits some) ends at that character's start, the next one takes it whole.
        char_at = [0] * (len(data) + 1)
        position = 0
        for index, char in enumerate(text):
            for _ in range(len(char.encode("utf-8"))):
                char_at[position] = index
                position += 1
        char_at[len(data)] = len(text)
        spans, offset = [], 0
        for piece in pieces:
            start, offset = char_at[offset], offset + len(piece)
            spans.append((start, char_at[offset]))
        return spans
    return _aligned_spans(text, pieces)


def _aligned_spans(text: str, pieces: list[bytes]) -> list[Span]:
    """Spans when the pieces do not spell the text byte for byte (a tokenizer that adds a
    space prefix, e.g. SentencePiece's ▁): each piece found from where the last ended."""
    spans, cursor = [], 0
    for piece in pieces:
        word = piece.decode("utf-8", "replace").replace("\u2581", " ").strip()
        found = text.find(word, cursor) if word else -1
        if found < 0 or found - cursor > 64:
            spans.append((cursor, cursor))
            continue
        spans.append((cursor, found + len(word)))
        cursor = found + len(word)
    return spans


class Chunker:
    def __init__(self, spec: ChunkingSpec, tokenizer: Tokenizer):
        self.spec = check_spec(spec, window=None)
        self.tokenizer = tokenizer

    def chunk(self, document_id: str, text: str) -> list[ChunkView]:
        spans = token_spans(self.tokenizer, text)
        self._starts = [s for s, _ in spans]
        self._ends = [e for _, e in spans]
        strategy = self.spec.strategy
        if strategy == "tokens":
            ranges = self._windows(0, len(spans))
        elif strategy == "headings":
            ranges = self._pack(sections(text), pack=False)
        else:
            units = sentences(text) if strategy == "sentences" else paragraphs(text)
            ranges = self._pack(units, pack=True)
        chunks = []
        for start, end in ranges:
            start, end = trim(text, start, end)
            if end > start:
                chunks.append(ChunkView(id=0, document_id=document_id, position=len(chunks),
                                        text=text[start:end], start=start, end=end,
                                        tokens=self._count(start, end)))
        return chunks

    # -- token arithmetic ------------------------------------------------------------------

    def _count(self, start: int, end: int) -> int:
        """Tokens whose span lies in [start, end)."""
        return max(0, bisect_right(self._ends, end) - bisect_left(self._starts, start))

    def _windows(self, first: int, last: int) -> list[Span]:
        """Character ranges of windows of ``size`` tokens over tokens [first, last)."""
        size, step = self.spec.size, self.spec.size - self.spec.overlap
        ranges = []
        for begin in range(first, last, step):
            end = min(begin + size, last)
            ranges.append((self._starts[begin], self._ends[end - 1]))
            if end == last:
                break
        return ranges

    def _split(self, start: int, end: int) -> list[Span]:
        first = bisect_left(self._starts, start)
        last = bisect_right(self._ends, end)
        if last <= first:
            return [(start, end)]
        pieces = self._windows(first, last)
        # Keep the unit's own edges (whitespace between tokens belongs to no window).
        pieces[0] = (start, pieces[0][1])
        pieces[-1] = (pieces[-1][0], end)
        return pieces

    def _pack(self, units: list[Span], *, pack: bool) -> list[Span]:
        size = self.spec.size
        ranges: list[Span] = []
        current: Span | None = None
        for start, end in units:
            if self._count(start, end) > size:
                if current:
                    ranges.append(current)
                    current = None
                ranges.extend(self._split(start, end))
            elif current and pack and self._count(current[0], end) <= size:
                current = (current[0], end)
            else:
                if current:
                    ranges.append(current)
                current = (start, end)
        if current:
            ranges.append(current)
        return ranges


def trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)
SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)|\n")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def sections(text: str) -> list[Span]:
    """Markdown sections: each ``#`` line (outside code fences) starts one."""
    fenced: list[Span] = []
    opened = None
    for match in FENCE.finditer(text):
        if opened is None:
            opened = match.start()
        else:
            fenced.append((opened, match.end()))
            opened = None
    starts = [0] + [m.start() for m in HEADING.finditer(text)
                    if m.start() and not any(a <= m.start() < b for a, b in fenced)]
    bounds = starts + [len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts)) if bounds[i + 1] > bounds[i]]


def sentences(text: str) -> list[Span]:
    return [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]


def paragraphs(text: str) -> list[Span]:
    spans, start = [], 0
    for match in PARAGRAPH_BREAK.finditer(text):
        if text[start:match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans
