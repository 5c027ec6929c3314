"""A JSON document with one long list in it, written element by element: the text is the one
``json.dumps(document, indent=2, …)`` would give with the list in place, but the list is never
held whole (a run's 20,000 result rows go from the store to the file a batch at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

# What stands for the list in the document while the rest is dumped; no real value is a
# string with NULs at both ends.
_PLACE = "\x00streamed list\x00"


def dump_json_with_list(file: TextIO, document: Any, items: Iterable[Any],
                        **options: Any) -> None:
    """Write ``document`` to ``file`` as ``json.dumps(document, indent=2, **options)`` would,
    where the one value ``stream_here()`` in it becomes ``items`` written as a list.

    Each item is dumped on its own with the same options and moved to the list's depth: with
    an indent every line break is structure (a string's own are escaped), so indenting each
    line of the item gives the bytes of the whole dump."""
    options = {**options, "indent": 2}
    text = json.dumps(document, **options)
    placeholder = json.dumps(_PLACE, **options)
    if text.count(placeholder) != 1:
        raise ValueError("The document must hold stream_here() exactly once.")
    before, after = text.split(placeholder)
    depth = _line_indent(before)
    file.write(before)
    inner = "\n" + " " * (depth + 2)
    written = 0
    for item in items:
        file.write(("[" if written == 0 else ",") + inner)
        file.write(json.dumps(item, **options).replace("\n", inner))
        written += 1
    file.write("[]" if written == 0 else "\n" + " " * depth + "]")
    file.write(after)


def stream_here() -> str:
    """The value to put where ``dump_json_with_list`` writes its items."""
    return _PLACE


def _line_indent(text: str) -> int:
    """How many spaces begin the last line of ``text`` (the line the list starts on)."""
    last = text.rsplit("\n", 1)[-1]
    return len(last) - len(last.lstrip(" "))
