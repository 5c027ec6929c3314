"""Chunking a document a part at a time, with the chunks ``Chunker.chunk`` gives for the whole
text: the same offsets, texts and token counts (tests/retrieval/test_chunk_stream.py compares
them on texts of many parts), in memory that does not grow with the document.

Three things run behind the text as its parts come in, each keeping only what it still needs:

* ``TokenStream`` tokenizes windows of ``WINDOW`` characters in the model host. Two windows
  share ``OVERLAP`` characters; in the middle of that stretch they are stitched at a token
  start where both give the same ``AGREE`` tokens on either side, far from the start of the
  one (where it began mid-word) and the end of the other (where the text was cut). A
  tokenizer's pre-tokenizer cuts text into words it never merges across, so past such a
  stitch the tokens are the ones the whole text gets. Where no stitch is found (one "word"
  longer than the overlap) the window grows; past ``MAX_WINDOW`` it is cut where it is,
  and ``forced`` counts it.
* A unit finder (chunk_units.py: ``Paragraphs``, ``Sentences``, ``Sections``) reports the
  units that the regular expressions of chunking.py find in the whole text, each once the
  text after it shows it cannot grow, and the unit still open (where it starts, how far it
  surely goes).
* ``ChunkStream`` packs them as ``Chunker._pack`` does (and cuts windows as ``_windows`` does
  for the ``tokens`` strategy): a unit is packed once the tokens up to its end are known; a
  unit already longer than the chunk size is cut into windows while it is still being read,
  each window given out as soon as it cannot be the unit's last.

The text is kept from the earliest point one of them still needs: a chunk's worth behind the
packer, a window behind the tokenizer. A markdown code fence left open holds the text after
it (a heading inside may or may not count) until it closes or the file ends.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque

from ...core.retrieval import ChunkingSpec, ChunkView
from .chunk_units import Paragraphs, Sections, Sentences, Text, Units
from .chunking import Span, Tokenizer, check_spec, token_spans, trim

WINDOW = 1 << 16  # characters tokenized in one host call
OVERLAP = 1 << 12  # characters two neighbouring windows share
AGREE = 8  # tokens both windows must give alike on each side of a stitch
MAX_WINDOW = 1 << 22  # a window grows up to this looking for a stitch, then is cut


class _KnownPieces:
    """A tokenizer whose token bytes are asked of the host once per token id (a window's
    pieces are mostly ids seen before; the cache is bounded by the vocabulary)."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.known: dict[int, bytes] = {}

    def tokenize(self, text: str, *, add_special: bool = True,
                 parse_special: bool = True) -> list[int]:
        return self.tokenizer.tokenize(text, add_special=add_special,
                                       parse_special=parse_special)

    def pieces(self, ids: list[int]) -> list[bytes]:
        known = self.known
        new = list(dict.fromkeys(i for i in ids if i not in known))
        if new:
            known.update(zip(new, self.tokenizer.pieces(new)))
        return [known[i] for i in ids]


class TokenStream:
    """The document's token spans (absolute character offsets), known up to ``safe``: every
    token that starts before ``safe`` is in ``starts``/``ends`` (from token number ``first``
    on: those before were dropped)."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = _KnownPieces(tokenizer)
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.first = 0
        self.safe = 0
        self.done = False
        self.forced = 0
        self._window: list[Span] = []  # the current window's spans from ``safe`` on
        self._window_start = 0
        self._window_end: int | None = None
        self._size = WINDOW

    @property
    def keep_from(self) -> int:
        return self._window_start

    def feed(self, text: Text) -> None:
        while not self.done:
            if self._window_end is None:  # the first window
                end = min(self._size, text.end)
                if end < self._size and not text.eof:
                    return
                self._window, self._window_end = self._spans(text, 0, end), end
                continue
            if text.eof and self._window_end >= text.end:
                self._accept(self._window, text.end)
                self.done = True
                return
            start = self._window_end - OVERLAP
            end = start + self._size
            if end > text.end:
                if not text.eof:
                    return
                end = text.end
            following = self._spans(text, start, end)
            low, high = start + OVERLAP // 4, self._window_end - OVERLAP // 4
            stitch = self._stitch(self._window, following, low, high)
            if stitch is None and self._window_end - self._window_start < MAX_WINDOW:
                # One "word" longer than the overlap: tokenize the current window further.
                grown = min(self._window_start + 2 * (self._window_end - self._window_start),
                            text.end)
                if grown < text.end or text.eof:
                    self._window = [s for s in self._spans(text, self._window_start, grown)
                                    if s[0] >= self.safe]
                    self._window_end = grown
                    continue
                return
            if stitch is None:
                self.forced += 1
                middle = (low + high) // 2
                kept = [s for s in self._window if s[1] <= middle]
                stitch = kept[-1][1] if kept else middle
            self._accept(self._window, stitch)
            self._window = [s for s in following if s[0] >= stitch]
            self._window_start, self._window_end = start, end

    def _spans(self, text: Text, start: int, end: int) -> list[Span]:
        return [(start + a, start + b) for a, b in token_spans(self.tokenizer,
                                                               text.get(start, end))]

    def _accept(self, spans: list[Span], before: int) -> None:
        for start, end in spans:
            if start >= before:
                break
            if start >= self.safe:
                self.starts.append(start)
                self.ends.append(end)
        self.safe = before

    @staticmethod
    def _stitch(window: list[Span], following: list[Span], low: int, high: int) -> int | None:
        """A token start in [low, high] where both windows agree on AGREE tokens either side,
        the one nearest the middle; None if there is none."""
        where = {}
        for index, span in enumerate(window):
            if low <= span[0] <= high:
                where.setdefault(span[0], index)
        middle = (low + high) // 2
        candidates = [j for j, span in enumerate(following) if low <= span[0] <= high]
        candidates.sort(key=lambda j: abs(following[j][0] - middle))
        for j in candidates:
            i = where.get(following[j][0])
            if i is None or i < AGREE or j < AGREE or i + AGREE > len(window) \
                    or j + AGREE > len(following):
                continue
            if window[i - AGREE:i + AGREE] == following[j - AGREE:j + AGREE]:
                return following[j][0]
        return None

    def drop(self, before: int) -> None:
        """Forget the tokens that start before ``before``."""
        count = bisect_left(self.starts, before)
        if count:
            del self.starts[:count]
            del self.ends[:count]
            self.first += count

    # -- token arithmetic in the document's token numbers -----------------------------------

    def count(self, start: int, end: int) -> int:
        """Tokens whose span lies in [start, end) (as ``Chunker._count``)."""
        return max(0, bisect_right(self.ends, end) - bisect_left(self.starts, start))

    def index_from(self, start: int) -> int:
        return self.first + bisect_left(self.starts, start)

    def index_to(self, end: int) -> int:
        return self.first + bisect_right(self.ends, end)

    def start_of(self, index: int) -> int:
        return self.starts[index - self.first]

    def end_of(self, index: int) -> int:
        return self.ends[index - self.first]


# -- packing ------------------------------------------------------------------------------

class _Split:
    """A unit being cut into windows: the next window starts at token ``begin``."""

    def __init__(self, start: int, begin: int, edges: bool):
        self.start = start
        self.begin = begin
        self.edges = edges  # the first window starts at the unit's start, the last ends at its end
        self.first = True


class ChunkStream:
    """``Chunker(spec, tokenizer).chunk(document_id, text)`` for a text given in parts:
    ``feed`` each part and then ``finish``; each returns the chunks now decided, in order."""

    def __init__(self, spec: ChunkingSpec, tokenizer: Tokenizer, document_id: str):
        self.spec = check_spec(spec, window=None)
        self.document_id = document_id
        self.text = Text()
        self.tokens = TokenStream(tokenizer)
        strategy = spec.strategy
        self.units: Units | None = {"headings": Sections, "sentences": Sentences,
                                    "paragraphs": Paragraphs}.get(strategy, lambda: None)()
        self.pack = strategy in ("sentences", "paragraphs")
        self.queue: deque[Span] = deque()
        self.current: Span | None = None
        self.split = _Split(0, 0, edges=False) if self.units is None else None
        self.position = 0

    @property
    def forced(self) -> int:
        """Stitches made without the two windows agreeing (0 for ordinary text)."""
        return self.tokens.forced

    def feed(self, part: str) -> list[ChunkView]:
        self.text.add(part)
        return self._advance()

    def finish(self) -> list[ChunkView]:
        self.text.eof = True
        chunks = self._advance()
        assert not self.queue and self.split is None and self.current is None
        return chunks

    def _advance(self) -> list[ChunkView]:
        tokens, out = self.tokens, []
        tokens.feed(self.text)
        if self.units is not None:
            self.queue.extend(self.units.feed(self.text))
        known = self.text.end if tokens.done else tokens.safe
        while self.queue and self.queue[0][1] <= known:
            start, end = self.queue.popleft()
            if self.split is not None and self.split.start == start:
                self._windows(out, tokens.index_to(end), end)
                self.split = None
            else:
                self._unit(out, start, end)
        if self.units is None:  # tokens: one unit, the whole text
            if tokens.done:
                self._windows(out, tokens.index_to(self.text.end), self.text.end)
                self.split = None
            else:
                self._windows(out, tokens.index_to(known), None)
        else:
            self._open_unit(out, known)
        if self.text.eof and self.current is not None:
            self._emit(out, *self.current)
            self.current = None
        keep = self._keep_from()
        tokens.drop(keep)
        self.text.drop(min(keep, tokens.keep_from,
                           self.units.keep_from if self.units else self.text.end))
        return out

    def _open_unit(self, out: list[ChunkView], known: int) -> None:
        """Cut the unit still being read once it is longer than a chunk: its windows that
        cannot be its last are decided already."""
        units = self.units
        if units.open_start is None or self.queue or not units.open_real:
            return
        reach = min(units.open_to, known)
        if self.split is None:
            if self.tokens.count(units.open_start, reach) <= self.spec.size:
                return
            if self.current is not None:
                self._emit(out, *self.current)
                self.current = None
            self.split = _Split(units.open_start, self.tokens.index_from(units.open_start),
                                edges=True)
        self._windows(out, self.tokens.index_to(reach), None)

    def _unit(self, out: list[ChunkView], start: int, end: int) -> None:
        """One whole unit, as ``Chunker._pack`` takes it."""
        size, count = self.spec.size, self.tokens.count
        if count(start, end) > size:
            if self.current is not None:
                self._emit(out, *self.current)
                self.current = None
            self.split = _Split(start, self.tokens.index_from(start), edges=True)
            self._windows(out, self.tokens.index_to(end), end)
            self.split = None
        elif self.current is not None and self.pack and count(self.current[0], end) <= size:
            self.current = (self.current[0], end)
        else:
            if self.current is not None:
                self._emit(out, *self.current)
            self.current = (start, end)

    def _windows(self, out: list[ChunkView], last: int, end: int | None) -> None:
        """``Chunker._windows`` over the split unit's tokens up to ``last``. ``end`` is the
        unit's end when it is known (then ``last`` is its last token and every window is
        given); None while it is read (only windows that end before ``last``)."""
        split, tokens = self.split, self.tokens
        size, step = self.spec.size, self.spec.size - self.spec.overlap
        while split.begin < last:
            stop = split.begin + size
            if end is None and stop >= last:
                return
            stop = min(stop, last)
            start = split.start if split.edges and split.first else tokens.start_of(split.begin)
            finish = end if split.edges and end is not None and stop == last \
                else tokens.end_of(stop - 1)
            self._emit(out, start, finish)
            split.first = False
            if stop == last:
                split.begin = last
                return
            split.begin += step

    def _emit(self, out: list[ChunkView], start: int, end: int) -> None:
        text = self.text
        start, end = trim(text.text, start - text.base, end - text.base)
        start, end = start + text.base, end + text.base
        if end > start:
            out.append(ChunkView(id=0, document_id=self.document_id, position=self.position,
                                 text=text.get(start, end), start=start, end=end,
                                 tokens=self.tokens.count(start, end)))
            self.position += 1

    def _keep_from(self) -> int:
        """The earliest text the packer may still need."""
        points = [self.tokens.safe if not self.tokens.done else self.text.end]
        if self.units is not None:
            points.append(self.units.keep_from)
        if self.current is not None:
            points.append(self.current[0])
        if self.queue:
            points.append(self.queue[0][0])
        if self.split is not None:  # the next window's first character on
            loaded = self.split.begin - self.tokens.first < len(self.tokens.starts)
            points.append(self.split.start if self.split.first
                          else self.tokens.start_of(self.split.begin) if loaded
                          else self.tokens.safe)
        elif self.units is not None and self.units.open_start is not None:
            points.append(self.units.open_start)
        return min(points)
