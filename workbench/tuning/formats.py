"""Training examples from files: JSONL, JSON or CSV in the common fine-tuning layouts.

Layouts, told apart by their keys (CSV: by the header):

* chat — ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}``
  (OpenAI's fine-tuning format); ShareGPT's ``{"conversations": [{"from", "value"}]}`` too.
* Alpaca — ``instruction``, optional ``input``, ``output`` (optional ``system``).
* prompt/completion — ``prompt``, ``completion`` (optional ``system``).

A row that cannot be used is never dropped silently: it becomes a RowProblem with its file, line
number and the reason, and the rest of the file is still read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.messages import ChatMessage
from ..core.records import (
    RecordProblem,
    RecordsError,
    RowProblem,
    json_array_records,
    jsonl_records,
    read_text,
)
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

def read_file(path: str | Path) -> Imported:
    path = Path(path)
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise DatasetError(f"The data file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise DatasetError(f"The data file {path} is not UTF-8 text.") from None
    except OSError as error:
        raise DatasetError(f"Cannot read the data file {path}: {error.strerror}.") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text, str(path))
    elif suffix == ".json":
        rows = _json_array(text, path.name)
    elif suffix in (".jsonl", ".ndjson"):
        rows = jsonl_records(text)
    else:
        raise DatasetError(f"Cannot read {path.name}: data files must be .jsonl, .json or .csv.")
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


def read_files(paths) -> Imported:
    result = Imported()
    for path in paths:
        result.extend(read_file(path))
    return result


def _json_array(text: str, name: str):
    try:
        yield from json_array_records(text, name)
    except RecordsError as error:
        raise DatasetError(str(error)) from None


def _csv_rows(text: str, source: str):
    reader = csv.DictReader(text.splitlines(keepends=True))
    if not reader.fieldnames:
        return
    columns = {name.strip().lower() for name in reader.fieldnames if name}
    if not ({"prompt", "completion"} <= columns or {"instruction", "output"} <= columns
            or {"user", "assistant"} <= columns):
        raise DatasetError(f"{Path(source).name}: the CSV header must have prompt,completion or "
                           "instruction,(input),output or user,assistant columns (optional "
                           f"system); found {', '.join(reader.fieldnames)}.")
    for row in reader:
        line = reader.line_num
        cleaned = {(k or "").strip().lower(): v for k, v in row.items()}
        if None in row:
            yield line, RowError("more cells than header columns")
            continue
        if "user" in cleaned:
            cleaned = {"system": cleaned.get("system"), "prompt": cleaned.get("user"),
                       "completion": cleaned.get("assistant")}
        yield line, {k: v for k, v in cleaned.items() if v is not None}
