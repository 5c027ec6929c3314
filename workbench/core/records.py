"""Records from JSONL, JSON or CSV/TSV text, each with the line it starts on.

The one reader behind test cases and few-shot examples (core/tabular.py: JSONL, JSON, CSV,
TSV, the built-in importer's formats) and training data's JSONL, JSON and CSV (tuning/formats.py,
which applies its own layouts' column rules to these records; any other table reaches both
through the importer plugins). A record that cannot be read is yielded as a ``RecordProblem`` in
its place, never dropped, so each caller can name the line and go on with the rest of the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .wording import counted


@dataclass(frozen=True)
class RowProblem:
    """A row that was left out, with where and why: the one problem type of every table the
    app reads (test cases, few-shot examples, training data)."""

    line: int
    reason: str
    source: str = ""  # the file, when there is one

    def __str__(self) -> str:
        where = f"{Path(self.source).name}:{self.line}" if self.source else f"line {self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class RecordProblem:
    reason: str

    def __str__(self) -> str:
        return self.reason


class RecordsError(ValueError):
    """The text as a whole is unusable (not JSON at all, no array); the message says why."""


Record = tuple[int, Any]  # (line, the decoded value or a RecordProblem)


def read_text(path: Path) -> str:
    """UTF-8 text (a byte-order mark is dropped). Raises UnicodeDecodeError / OSError."""
    return path.read_text(encoding="utf-8-sig")


def jsonl_records(text: str) -> Iterator[Record]:
    """One JSON value per non-blank line."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, RecordProblem(f"not valid JSON ({error.msg} at column {error.colno})")


def json_array_records(text: str, name: str) -> Iterator[Record]:
    """The items of a top-level array (or of an object's ``"data"`` list), each with its line;
    an object without such a list is one record. The decoder walks the array item by item, so
    a broken item is named by its line (the rest of the file cannot be read after it)."""
    decoder = json.JSONDecoder()
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordsError(f"{name} is not valid JSON: {error.msg} on line "
                               f"{error.lineno}.") from None
        items = document.get("data") if isinstance(document, dict) else None
        match = re.search(r'"data"\s*:\s*\[', text)
        if not isinstance(items, list) or match is None:
            yield 1, document
            return
        position = match.end() - 1
    else:
        position = text.find("[")
    if position < 0:
        raise RecordsError(f"{name} holds no JSON array of examples.")
    position += 1
    while True:
        position = _skip(text, position, " \t\r\n")
        if position >= len(text) or text[position] == "]":
            return
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            yield line, RecordProblem(f"not valid JSON ({error.msg}); the rest of the file is "
                                      "skipped")
            return
        yield line, value
        position = _skip(text, position, " \t\r\n,")


def _skip(text: str, position: int, chars: str) -> int:
    while position < len(text) and text[position] in chars:
        position += 1
    return position


def delimited_records(text: str, delimiter: str = ",") -> tuple[list[str], Iterator[Record]]:
    """The header's column names, and each following non-blank row as a dict keyed by them,
    with the file line it starts on (a quoted cell may span lines). A row whose cell count
    differs from the header's is a problem, not a guess."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] = []
    for line in reader:
        if any(cell.strip() for cell in line):
            header = [cell.strip() for cell in line]
            break

    def rows() -> Iterator[Record]:
        start = reader.line_num + 1
        for line in reader:
            if any(cell.strip() for cell in line):
                if len(line) != len(header):
                    yield start, RecordProblem(f"{counted(len(line), 'cell')}, the header has "
                                               f"{len(header)}")
                else:
                    yield start, dict(zip(header, line))
            start = reader.line_num + 1

    return header, rows()
