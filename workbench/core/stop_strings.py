"""Streaming text with stop strings: emit only text that cannot turn into a stop string."""

from __future__ import annotations

from collections.abc import Sequence


class StopStringFilter:
    """Feed it decoded text piece by piece; it returns what is safe to show.

    Text that could be the start of a stop string is held back until the next piece decides
    it. When a stop string appears, everything from it on is dropped and ``stopped`` is set.
    """

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(s for s in stops if s)
        self.text = ""  # everything accepted so far, stop string excluded
        self._emitted = 0
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        search_from = max(0, len(self.text) - max((len(s) for s in self.stops), default=0))
        self.text += piece
        first = None
        for stop in self.stops:
            at = self.text.find(stop, search_from)
            if at != -1 and (first is None or at < first):
                first = at
        if first is not None:
            self.text = self.text[:first]
            self.stopped = True
            return self._emit(len(self.text))
        return self._emit(len(self.text) - self._held_back())

    def flush(self) -> str:
        return self._emit(len(self.text))

    def _held_back(self) -> int:
        """Length of the longest suffix of the text that is a proper prefix of a stop string."""
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.text)), longest, -1):
                if self.text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def _emit(self, upto: int) -> str:
        upto = max(upto, self._emitted)
        out = self.text[self._emitted : upto]
        self._emitted = upto
        return out
