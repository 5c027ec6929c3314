"""CSV/TSV/JSONL import of cases and examples, and JSONL/CSV export of outputs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from ...core.atomic_file import open_atomically
from ...core.tabular import read_table
from ..contributions import Exporter, Importer
from ..hookspecs import hookimpl

__version__ = "1.0"


def write_jsonl(path: str, rows: Iterable[dict]) -> None:
    """A row per line, each written as it comes (``rows`` may be a stream of any length); the
    file appears whole or not at all."""
    with open_atomically(Path(path)) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def write_csv(path: str, rows: Iterable[dict]) -> None:
    """A column per key; a list or a mapping (a verdict's checks) as its JSON, one cell.
    ``rows`` is read twice (the columns are every row's keys, then the rows), so a stream
    that can be iterated again writes a run of any size in one batch of memory."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open_atomically(Path(path), newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({key: json.dumps(value, ensure_ascii=False)
                          if isinstance(value, (list, dict)) else value
                          for key, value in row.items()} for row in rows)


@hookimpl
def register_importers(register):
    register(Importer("CSV, TSV or JSONL table", (".csv", ".tsv", ".jsonl", ".json"),
                      lambda path: read_table(Path(path))))


@hookimpl
def register_exporters(register):
    register(Exporter("JSON lines", ".jsonl", write_jsonl))
    register(Exporter("CSV", ".csv", write_csv))
