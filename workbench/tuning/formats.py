"""Training examples from files: JSONL, JSON or CSV in the common fine-tuning layouts, and any
table an importer plugin reads (``read_file``'s ``read_table``).

Layouts, told apart by their keys (a table, CSV or a plugin's: by its columns):

* chat — ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}``
  (OpenAI's fine-tuning format); ShareGPT's ``{"conversations": [{"from", "value"}]}`` too.
* Alpaca — ``instruction``, optional ``input``, ``output`` (optional ``system``).
* prompt/completion — ``prompt``, ``completion`` (optional ``system``).

A row that cannot be used is never dropped silently: it becomes a RowProblem with its file, line
number and the reason, and the rest of the file is still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import WorkbenchError
from ..core.messages import ChatMessage
from ..core.records import (
    RecordProblem,
    RecordsError,
    RowProblem,
    delimited_records,
    json_array_records,
    jsonl_records,
    read_text,
)
from ..core.tabular import Rows
from ..core.tuning_errors import DatasetError

ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                  "assistant": "assistant"}


@dataclass(frozen=True)
class Example:
    messages: tuple[ChatMessage, ...]
    source: str = ""
    line: int = 0


@dataclass
class Imported:
    examples: list[Example] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def extend(self, other: Imported) -> Imported:
        self.examples += other.examples
        self.problems += other.problems
        return self


class RowError(ValueError):
    """One row is unusable; the message is the reason shown to the user."""


def to_messages(row: Any) -> tuple[ChatMessage, ...]:
    """A row in any supported layout as chat messages ending with the assistant's answer."""
    if not isinstance(row, dict):
        raise RowError(f"expected an object, found {type(row).__name__}")
    if "messages" in row:
        messages = _chat(row["messages"], "role", "content", {r: r for r in ROLES})
    elif "conversations" in row:
        messages = _chat(row["conversations"], "from", "value", SHAREGPT_ROLES)
    elif "instruction" in row or "output" in row:
        instruction, output = _text(row, "instruction"), _text(row, "output")
        extra = row.get("input") or ""
        if not isinstance(extra, str):
            raise RowError("'input' must be text")
        user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        messages = (*_system(row), ChatMessage("user", user), ChatMessage("assistant", output))
    elif "prompt" in row or "completion" in row:
        messages = (*_system(row), ChatMessage("user", _text(row, "prompt")),
                    ChatMessage("assistant", _text(row, "completion")))
    else:
        keys = ", ".join(sorted(map(str, row))) or "none"
        raise RowError(f"unknown layout (keys: {keys}); expected messages, "
                       "instruction/output or prompt/completion")
    if not any(m.role == "user" for m in messages):
        raise RowError("no user message")
    if messages[-1].role != "assistant":
        raise RowError("the last message must be the assistant's answer")
    return messages


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        raise RowError(f"'{key}' is missing")
    if not isinstance(value, str):
        raise RowError(f"'{key}' must be text, not {type(value).__name__}")
    if not value.strip():
        raise RowError(f"'{key}' is empty")
    return value


def _system(row: dict) -> tuple[ChatMessage, ...]:
    system = row.get("system")
    return (ChatMessage("system", system),) if isinstance(system, str) and system.strip() else ()


def _chat(items: Any, role_key: str, text_key: str, roles: dict[str, str]):
    if not isinstance(items, list) or not items:
        raise RowError("the message list is empty or not a list")
    messages = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise RowError(f"message {number} is not an object")
        role = roles.get(str(item.get(role_key, "")))
        if role is None:
            raise RowError(f"message {number} has role '{item.get(role_key)}'; "
                           f"expected {', '.join(sorted(set(roles)))}")
        content = item.get(text_key)
        if not isinstance(content, str) or not content.strip():
            raise RowError(f"message {number} ({role}) has no text")
        if role == "system" and number != 1:
            raise RowError(f"message {number}: a system message must come first")
        messages.append(ChatMessage(role, content))
    return tuple(messages)


# -- files ---------------------------------------------------------------------------------

ReadTable = Callable[[Path], Rows]  # PluginManager.read_table: the importer hook, handed in
OWN_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
# A table's columns for each flat layout (CSV, or a table an importer plugin reads).
TABLE_LAYOUTS = ({"prompt", "completion"}, {"instruction", "output"}, {"user", "assistant"})
NESTED = ("messages", "conversations")  # a table keeps these as JSON text (core/tabular.py)


def read_file(path: str | Path, read_table: ReadTable | None = None) -> Imported:
    """The examples of one file and the problems of its rows. JSONL, JSON and CSV are read
    here with the one record reader (core/records.py): JSON keeps its nested messages and
    value types, which a table flattens into text. Any other suffix is read by
    ``read_table`` — the importer plugins, which the service hands in (tuning imports no
    plugins) — so a plugin's table format is training data too."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OWN_SUFFIXES:
        return _examples(path, _plugin_rows(path, read_table))
    text = _text_of(path)
    if suffix == ".csv":
        header, records = delimited_records(text)
        rows = _table_rows(header, records, f"{path.name}: the CSV header")
    elif suffix == ".json":
        rows = _json_array(text, path.name)
    else:
        rows = jsonl_records(text)
    return _examples(path, rows)


def read_files(paths, read_table: ReadTable | None = None) -> Imported:
    result = Imported()
    for path in paths:
        result.extend(read_file(path, read_table))
    return result


def _text_of(path: Path) -> str:
    try:
        return read_text(path)
    except FileNotFoundError:
        raise DatasetError(f"The data file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise DatasetError(f"The data file {path} is not UTF-8 text.") from None
    except OSError as error:
        raise DatasetError(f"Cannot read the data file {path}: {error.strerror}.") from None


def _examples(path: Path, rows) -> Imported:
    result = Imported()
    for line, row in rows:
        if isinstance(row, (RowError, RecordProblem)):
            result.problems.append(RowProblem(line, str(row), str(path)))
            continue
        try:
            result.examples.append(Example(to_messages(row), str(path), line))
        except RowError as error:
            result.problems.append(RowProblem(line, str(error), str(path)))
    return result


def _json_array(text: str, name: str):
    try:
        yield from json_array_records(text, name)
    except RecordsError as error:
        raise DatasetError(str(error)) from None


def _plugin_rows(path: Path, read_table: ReadTable | None):
    """A table an importer plugin reads, as (line, row) records, the problems it found in
    their places."""
    if not path.exists():
        raise DatasetError(f"The data file {path} does not exist.")
    formats = "data files must be .jsonl, .json or .csv"
    if read_table is None:
        raise DatasetError(f"Cannot read {path.name}: {formats}.")
    try:
        table = read_table(path)
    except WorkbenchError as error:  # no importer reads it, or the one that does failed
        raise DatasetError(f"Cannot read {path.name}: {formats}, or a table an importer "
                           f"plugin reads. {error}") from None
    problems = [(problem.line, RecordProblem(problem.reason)) for problem in table.problems]
    # An importer that knows no lines numbers its rows from 1.
    records = [(table.line_of(index) or index + 1, row) for index, row in enumerate(table.rows)]
    rows = list(_table_rows(table.columns, iter(records), f"{path.name}: the table"))
    return sorted(problems + rows, key=lambda record: record[0])  # in the file's order


def _table_rows(columns: list[str], records: Iterator, what: str):
    """A table's rows in a layout ``to_messages`` knows, by its columns (checked first: a
    table without them has no row to train on)."""
    names = {(name or "").strip().lower() for name in columns}
    if not names:
        return  # an empty file: no rows (an empty dataset is said later, with its reason)
    if not (any(layout <= names for layout in TABLE_LAYOUTS) or names & set(NESTED)):
        raise DatasetError(f"{what} must have prompt,completion or instruction,(input),output "
                           "or user,assistant columns (optional system), or messages as JSON; "
                           f"found {', '.join(columns) or 'none'}.")
    for line, row in records:
        yield line, row if isinstance(row, RecordProblem) else _flat_row(row)


def _flat_row(row: dict) -> dict | RowError:
    cleaned = {(key or "").strip().lower(): value for key, value in row.items()}
    if "user" in cleaned:
        cleaned = {"system": cleaned.get("system"), "prompt": cleaned.get("user"),
                   "completion": cleaned.get("assistant")}
    for key in NESTED:
        if isinstance(cleaned.get(key), str):
            try:
                cleaned[key] = json.loads(cleaned[key])
            except json.JSONDecodeError as error:
                return RowError(f"'{key}' is not valid JSON ({error.msg})")
    return {key: value for key, value in cleaned.items() if value is not None}
