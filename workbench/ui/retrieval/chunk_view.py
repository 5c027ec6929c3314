"""A document's text with its chunks drawn on it: each chunk in one of two alternating
background colours, the text two chunks share (overlap) in a third, text no chunk covers left
plain. Hovering tells the chunk's number, tokens and character range; a search hit can be
brought into view and marked.

The text is drawn as one HTML document set in one call (as the composer's Tokens tab does):
PySide6 6.12 loses a reference on every call of a void Qt method, so thousands of per-chunk
cursor calls would abort the interpreter.
"""

from __future__ import annotations

import html
from bisect import bisect_right
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextCursor

from ...core.retrieval import ChunkView
from ...core.wording import counted
from ..hover_text import HoverTextEdit

CHUNK_COLOURS = ("#cfe8fc", "#ffe3bd")  # alternating: a boundary shows between two chunks
OVERLAP_COLOUR = "#cdb9ea"  # text in two chunks at once
MARKED_COLOUR = "#a5d6a7"  # the chunk a search hit points at
UNCOVERED_STYLE = "color:#9e9e9e"  # text no chunk holds (e.g. whitespace between sections)
# Drawn at once: ~1 ms a thousand characters (50,000 took 59 ms), so a longer document is
# shown as a window of this many characters, moved to the chunk a search hit points at.
WINDOW_CHARS = 40_000


@dataclass(frozen=True)
class Segment:
    """A stretch of text covered by the same chunks (``chunks``: their indexes)."""

    start: int
    end: int
    chunks: tuple[int, ...]


def segments(length: int, spans: list[tuple[int, int]]) -> list[Segment]:
    """Cut ``[0, length)`` at every chunk's start and end (``spans``); each piece knows the
    chunks (indexes into ``spans``) that cover it."""
    def clamp(value: int) -> int:
        return max(0, min(value, length))

    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(spans):
        if clamp(end) > clamp(start):
            opening.setdefault(clamp(start), []).append(index)
            closing.setdefault(clamp(end), []).append(index)
    edges = sorted({0, length, *opening, *closing})
    # One sweep (a document may have thousands of chunks): the chunks open at each cut.
    active: set[int] = set()
    pieces = []
    for start, end in zip(edges, edges[1:], strict=False):
        active.difference_update(closing.get(start, ()))
        active.update(opening.get(start, ()))
        pieces.append(Segment(start, end, tuple(sorted(active))))
    return pieces


def describe_chunk(chunk: ChunkView, total: int) -> str:
    return (f"Chunk {chunk.position + 1} of {total} · {counted(chunk.tokens, 'token')} · "
            f"characters {chunk.start:,}–{chunk.end:,}")


class ChunkTextView(HoverTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("Select a document to see how it was cut into chunks.")
        self.text = ""
        self.chunks: list[ChunkView] = []
        self.marked: int | None = None  # a chunk id
        self.offset = 0  # where the drawn window of a long text starts
        self._segments: list[Segment] = []
        self._qt_starts: list[int] = []  # each segment's start in Qt's UTF-16 positions

    def show_document(self, text: str, chunks: list[ChunkView],
                      marked_chunk: int | None = None) -> None:
        self.text = text
        self.chunks = sorted(chunks, key=lambda c: (c.start, c.position))
        self.offset = 0
        self.mark(marked_chunk)

    def clear_document(self) -> None:
        self.text, self.chunks, self.marked, self.offset = "", [], None, 0
        self._segments, self._qt_starts = [], []
        self.clear()

    def mark(self, chunk_id: int | None) -> None:
        """Colour one chunk as the chosen one and scroll it into view."""
        self.marked = chunk_id
        chunk = next((c for c in self.chunks if c.id == chunk_id), None)
        if chunk is not None and not (
                self.offset <= chunk.start and chunk.end <= self.offset + WINDOW_CHARS):
            self.offset = max(0, chunk.start - WINDOW_CHARS // 10)  # some text before it
        self._render()

    def _render(self) -> None:
        offset = self.offset
        shown = self.text[offset:offset + WINDOW_CHARS]
        self._segments = segments(len(shown), [(c.start - offset, c.end - offset)
                                               for c in self.chunks])
        self._qt_starts, spans, position = [], [], 0
        marked_start = None
        if offset:
            notice = f"… {offset:,} characters before (not shown)"
            spans.append(f'<span style="{UNCOVERED_STYLE}">{notice}\n</span>')
            position = len(notice) + 1
        for segment in self._segments:
            piece = shown[segment.start:segment.end]
            self._qt_starts.append(position)
            style = self._style(segment)
            if marked_start is None and self._is_marked(segment):
                marked_start = position
            position += len(piece.encode("utf-16-le")) // 2  # Qt counts UTF-16 units
            spans.append(f'<span style="{style}">{html.escape(piece)}</span>')
        after = len(self.text) - offset - len(shown)
        if after > 0:
            spans.append(f'<span style="{UNCOVERED_STYLE}">\n… {after:,} more characters '
                         "(not shown)</span>")
        self.setHtml(f'<body style="white-space:pre-wrap">{"".join(spans)}</body>')
        if marked_start is not None:
            cursor = self.textCursor()
            cursor.setPosition(marked_start)
            self.setTextCursor(cursor)
            # The chunk's start near the top of the view, not its first line at the bottom.
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + self.cursorRect().top() - 2 * self.fontMetrics().height())
        else:
            self.moveCursor(QTextCursor.MoveOperation.Start)

    def _is_marked(self, segment: Segment) -> bool:
        return self.marked is not None and any(
            self.chunks[i].id == self.marked for i in segment.chunks)

    def _style(self, segment: Segment) -> str:
        if not segment.chunks:
            return UNCOVERED_STYLE
        if self._is_marked(segment):
            return f"background-color:{MARKED_COLOUR}"
        if len(segment.chunks) > 1:
            return f"background-color:{OVERLAP_COLOUR}"
        chunk = self.chunks[segment.chunks[0]]
        return f"background-color:{CHUNK_COLOURS[chunk.position % 2]}"

    # -- hovering --------------------------------------------------------------------------

    def chunks_at(self, point) -> list[ChunkView]:
        """The chunks under a viewport point (two where they overlap)."""
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        position = self.document().documentLayout().hitTest(
            QPointF(point) + offset, Qt.HitTestAccuracy.ExactHit)
        if position < 0 or not self._qt_starts:
            return []
        index = bisect_right(self._qt_starts, position) - 1
        if not 0 <= index < len(self._segments):
            return []
        return [self.chunks[i] for i in self._segments[index].chunks]

    def tooltip_at(self, point) -> str | None:
        found = self.chunks_at(point)
        if not found:
            return None
        lines = [describe_chunk(chunk, len(self.chunks)) for chunk in found]
        if len(found) > 1:
            lines.append("(overlap: this text is in both chunks)")
        return "\n".join(lines)

