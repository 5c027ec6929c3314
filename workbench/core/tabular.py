"""Rows from CSV or JSONL files (few-shot examples, test cases), with line-numbered errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import WorkbenchError
from .records import (
    RecordProblem,
    RecordsError,
    RowProblem,
    delimited_records,
    json_array_records,
    jsonl_records,
    read_text,
)


class TabularError(WorkbenchError):
    pass


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[dict[str, str]]
    problems: list[RowProblem]  # rows left out, with why: never dropped silently
    # the line each row starts on in its file (a suite's problems name it); an importer that
    # does not know them leaves this empty
    lines: list[int] = field(default_factory=list)

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else None


def read_table(path: str | Path) -> Rows:
    """A table file of cases or examples (CSV, TSV, JSONL, JSON) as ``Rows``: the built-in
    importer's reader (the window and the CLI read tables through the importer plugins)."""
    path = Path(path)
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise TabularError(f"{path} is not UTF-8 text.") from None
    except OSError as error:
        raise TabularError(f"Cannot read {path}: {error.strerror}.") from None
    suffix = path.suffix.lower()
    # A .json file is an array of objects, or (as many tools write it) one object per line.
    if suffix in (".jsonl", ".ndjson") or (suffix == ".json"
                                          and not text.lstrip().startswith("[")):
        return _from_json(str(path), jsonl_records(text))
    if suffix == ".json":
        try:
            return _from_json(str(path), list(json_array_records(text, str(path))))
        except RecordsError as error:
            raise TabularError(str(error)) from None
    return parse_delimited(text, "\t" if suffix == ".tsv" else ",", str(path))


def _from_json(source: str, records) -> Rows:
    """JSON objects as rows of text (a nested value is kept as its JSON)."""
    rows, problems, columns, lines = [], [], [], []
    for number, record in records:
        if isinstance(record, RecordProblem):
            problems.append(RowProblem(number, str(record)))
            continue
        if not isinstance(record, dict):
            problems.append(RowProblem(number, "not a JSON object"))
            continue
        lines.append(number)
        row = {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
               for k, v in record.items()}
        for key in row:
            if key not in columns:
                columns.append(key)
        rows.append(row)
    if not rows and not problems:
        raise TabularError(f"{source} holds no rows.")
    return Rows(columns, rows, problems, lines)


def parse_delimited(text: str, delimiter: str, source: str = "the pasted text") -> Rows:
    header, records = delimited_records(text, delimiter)
    if not header:
        raise TabularError(f"{source} holds no rows.")
    rows, problems, lines = [], [], []
    for number, record in records:
        if isinstance(record, RecordProblem):
            problems.append(RowProblem(number, str(record)))
        else:
            rows.append(record)
            lines.append(number)
    return Rows(header, rows, problems, lines)


INPUT_KEYS = ("input", "prompt", "question", "instruction", "user")
OUTPUT_KEYS = ("output", "completion", "answer", "response", "assistant")


def example_pairs(rows: Rows) -> tuple[list[tuple[str, str]], list[RowProblem]]:
    """Input/output pairs from common column names (input/output, prompt/completion, …)."""
    find = lambda keys: next((c for c in rows.columns if c.lower() in keys), None)  # noqa: E731
    source, target = find(INPUT_KEYS), find(OUTPUT_KEYS)
    if source is None or target is None:
        raise TabularError("Examples need an input and an output column (for example "
                           f"'input' and 'output'); found: {', '.join(rows.columns) or 'none'}.")
    pairs, problems = [], list(rows.problems)
    for index, row in enumerate(rows.rows, 1):
        if not row.get(source, "").strip():
            problems.append(RowProblem(index, f"empty '{source}'"))
            continue
        pairs.append((row[source], row.get(target, "")))
    return pairs, problems
