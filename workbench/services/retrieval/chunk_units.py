"""Finding a text's chunking units as its parts come in (chunk_stream.py packs them).

Each finder reports the units that the regular expressions of chunking.py find in the whole
text (``paragraphs``, ``sentences``, ``sections``), each once the text after it shows it
cannot grow, and the unit still open: where it starts, how far it surely goes, whether it will
be a unit at all. It keeps only the text it still has to look at (``keep_from``), however long
a unit is: a break, a sentence's end or a heading is looked for from where the last look
stopped.
"""

from __future__ import annotations

import re

from .chunking import FENCE, HEADING, PARAGRAPH_BREAK, Span


class Text:
    """The document's text from ``base`` on (what is still needed), and whether it is all in."""

    def __init__(self):
        self.text = ""
        self.base = 0
        self.eof = False

    @property
    def end(self) -> int:
        return self.base + len(self.text)

    def add(self, part: str) -> None:
        self.text += part

    def get(self, start: int, end: int) -> str:
        return self.text[start - self.base:end - self.base]

    def drop(self, before: int) -> None:
        if before > self.base:
            self.text = self.text[before - self.base:]
            self.base = before


class Units:
    """Finds units as the text comes in. ``feed`` returns those that are final; ``open_start``
    is where the unit still being read starts (None: none), ``open_to`` how far it surely
    goes, ``open_real`` whether it will be a unit at all; ``keep_from`` the text it needs."""

    open_start: int | None = None
    open_to: int = 0
    open_real: bool = False
    keep_from: int = 0

    def feed(self, text: Text) -> list[Span]:
        raise NotImplementedError


class Paragraphs(Units):
    """``chunking.paragraphs``: text between breaks (a blank line), blank ones left out."""

    def __init__(self):
        self.start = 0  # where the paragraph being read starts
        self.scan = 0  # breaks are looked for from here (the text before it has none)
        self.content = False  # the paragraph has text before ``scan``

    def feed(self, text: Text) -> list[Span]:
        units: list[Span] = []
        buf, base = text.text, text.base
        while True:
            found = PARAGRAPH_BREAK.search(buf, self.scan - base)
            if found is None or (found.end() == len(buf) and not text.eof):
                break  # a break reaching the end may grow: looked at again from its start
            content = self.content or bool(buf[self.scan - base:found.start()].strip())
            if content:
                units.append((self.start, base + found.start()))
            self.start = self.scan = base + found.end()
            self.content = False
        if text.eof:
            if self.content or buf[self.scan - base:].strip():
                units.append((self.start, text.end))
            self.start = self.scan = text.end
            self.open_start, self.keep_from = None, text.end
            return units
        # Breaks are all whitespace: the next one starts in the trailing whitespace or after.
        scan = base + (found.start() if found is not None else len(buf.rstrip()))
        if scan > self.scan:
            self.content = self.content or bool(buf[self.scan - base:scan - base].strip())
            self.scan = scan
        self.open_start, self.open_to, self.open_real = self.start, self.scan, self.content
        self.keep_from = self.scan
        return units


STOPS = re.compile(r"[.!?\n]")
OPENERS = re.compile(r"[^.!?]")
PUNCTUATION = re.compile(r"[.!?]*")
CLOSERS = re.compile(r"[\"')\]]*")


class Sentences(Units):
    """``chunking.sentences``: the matches of ``SENTENCE`` that are not blank, found by the
    same steps the expression takes (text up to ``.!?`` or a line end; then the run of
    ``.!?`` and closing quotes or brackets; a bare line end is a blank match)."""

    def __init__(self):
        self.state = "out"  # out: between sentences; text, punctuation, closers: in one
        self.pos = 0
        self.start = 0
        self.real = False

    def feed(self, text: Text) -> list[Span]:
        units: list[Span] = []
        buf, base, eof = text.text, text.base, text.eof
        while True:
            i = self.pos - base
            if self.state == "out":
                found = OPENERS.search(buf, i)
                if found is None:
                    self.pos = text.end
                    break
                if buf[found.start()] == "\n":  # a bare line end: a blank match
                    self.pos = base + found.start() + 1
                    continue
                self.state, self.start, self.real = "text", base + found.start(), False
                self.pos = self.start
            elif self.state == "text":
                found = STOPS.search(buf, i)
                stop = found.start() if found is not None else len(buf)
                self.real = self.real or bool(buf[i:stop].strip())
                self.pos = base + stop
                if found is None:
                    if eof:
                        self._end(units, text.end)
                    break
                if buf[stop] == "\n":
                    self._end(units, self.pos + 1)
                else:
                    self.state, self.real = "punctuation", True
            else:
                pattern = PUNCTUATION if self.state == "punctuation" else CLOSERS
                run = pattern.match(buf, i)
                self.pos = base + run.end()
                if run.end() == len(buf) and not eof:
                    break  # the run may go on
                if self.state == "punctuation":
                    self.state = "closers"
                else:
                    self._end(units, self.pos)
        inside = self.state != "out"
        self.open_start = self.start if inside else None
        self.open_to, self.open_real, self.keep_from = self.pos, self.real, self.pos
        return units

    def _end(self, units: list[Span], end: int) -> None:
        if self.real:
            units.append((self.start, end))
        self.state, self.pos = "out", end


class Sections(Units):
    """``chunking.sections``: each ``#`` line outside a code fence starts one. A heading after
    a fence that is still open waits: it counts only if the fence is never closed."""

    MARGIN = 7  # the longest match of HEADING; a match starting earlier is decided

    def __init__(self):
        self.start = 0
        self.scan = 0
        self.fence: int | None = None
        self.waiting: list[int] = []
        self.open_real = True

    def feed(self, text: Text) -> list[Span]:
        units: list[Span] = []
        buf, base = text.text, text.base
        limit = len(buf) if text.eof else len(buf) - self.MARGIN
        i = self.scan - base
        events = [(m.start(), "heading", m.end()) for m in HEADING.finditer(buf, i)]
        events += [(m.start(), "fence", m.end()) for m in FENCE.finditer(buf, i)]
        scan = max(self.scan, base + limit)
        for at, kind, end in sorted(events):
            if at >= limit:
                break
            scan = max(scan, base + end)
            at += base
            if kind == "fence":
                self.fence = at if self.fence is None else None
                self.waiting.clear()
            elif at and self.fence is None:
                units.append((self.start, at))
                self.start = at
            elif at:
                self.waiting.append(at)
        self.scan = scan
        if text.eof:
            for at in self.waiting:
                units.append((self.start, at))
                self.start = at
            if text.end > self.start:
                units.append((self.start, text.end))
            self.open_start, self.keep_from = None, text.end
            return units
        self.open_start = self.start
        self.open_to = min([self.scan, *self.waiting[:1]])
        self.keep_from = max(0, self.scan - 1)  # ^ needs the character before
        return units
