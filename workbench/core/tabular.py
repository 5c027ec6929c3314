"""Rows from CSV or JSONL files (few-shot examples, test cases), with line-numbered errors."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkbenchError


class TabularError(WorkbenchError):
    pass


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[dict[str, str]]
    problems: list[RowProblem]  # rows left out, with why: never dropped silently


def read_rows(path: str | Path) -> Rows:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TabularError(f"{path} is not UTF-8 text.") from None
    except OSError as error:
        raise TabularError(f"Cannot read {path}: {error.strerror}.") from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path, text)
    return parse_delimited(text, "\t" if path.suffix.lower() == ".tsv" else ",", str(path))


def _jsonl(path: Path, text: str) -> Rows:
    rows, problems, columns = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            problems.append(RowProblem(number, f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(record, dict):
            problems.append(RowProblem(number, "not a JSON object"))
            continue
        row = {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
               for k, v in record.items()}
        for key in row:
            if key not in columns:
                columns.append(key)
        rows.append(row)
    if not rows and not problems:
        raise TabularError(f"{path} holds no rows.")
    return Rows(columns, rows, problems)


def parse_delimited(text: str, delimiter: str, source: str = "the pasted text") -> Rows:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    lines = [line for line in reader]
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise TabularError(f"{source} holds no rows.")
    header = [cell.strip() for cell in lines[0]]
    rows, problems = [], []
    for number, line in enumerate(lines[1:], 2):
        if len(line) != len(header):
            problems.append(RowProblem(number, f"{len(line)} cells, the header has {len(header)}"))
            continue
        rows.append(dict(zip(header, line)))
    return Rows(header, rows, problems)


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
