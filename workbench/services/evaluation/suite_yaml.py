"""YAML (and JSON) read with a 1-based line number on every mapping, key and list item,
so a suite's problems name file:line; and the small readers the suite parser shares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ...core.suites import (
    SuiteProblem,
)

FILE = "file://"
# Why a few well-known promptfoo keys do nothing here, so the message says what to do instead.
HINTS = {
    "scenarios": "write its combinations out as tests",
    "provider": "every test runs on every provider: list them under the top-level providers",
    "options": "a test's and defaultTest's options are read: transform, transformVars, and "
               "defaultTest's provider (the judge)",
    "transform": "a transform is read in a test's or defaultTest's options and on an "
                 "assertion",
    "env": "set environment variables before starting Prompt Workbench",
    "nunjucksFilters": "templates fill {{var}} placeholders only",
}

class LinedMap(dict):
    """A YAML mapping that remembers where it and each of its keys start (1-based lines)."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LinedSeq(list):
    """A YAML sequence that remembers the line each item starts on."""

    line: int | None = None
    item_lines: list


class LineLoader(yaml.SafeLoader):
    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []  # key, first line, repeated line


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> LinedMap:
    loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
    mapping = LinedMap()
    mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = key if isinstance(key, (str, int, float, bool)) else str(key)
        line = key_node.start_mark.line + 1
        if key in mapping:  # YAML keeps the last silently; promptfoo's parser refuses
            loader.duplicates.append((str(key), mapping.key_lines[key], line))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_seq(loader: LineLoader, node: yaml.SequenceNode) -> LinedSeq:
    sequence = LinedSeq(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
NOT_YAML = object()  # load_yaml's answer when the text is not YAML (the problem is recorded)


def plain(value: Any) -> Any:
    """Plain dicts and lists (for values kept in the suite and written back by yaml)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


@dataclass
class SuiteReader:
    """One file being read: where problems are reported and ``file://`` paths start from."""

    source: str
    base_dir: Path
    problems: list[SuiteProblem]

    def problem(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(SuiteProblem(self.source, line, key, message))

    def unsupported(self, mapping: LinedMap, allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = f" ({HINTS[key]})" if key in HINTS else ""
                self.problem(mapping.line_of(key), str(key),
                             f"not supported {where}{hint}; supported there: {', '.join(allowed)}")

    def load_yaml(self, text: str) -> Any:
        loader = LineLoader(text)
        try:
            data = loader.get_single_data()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            what = error.problem or error.context or "not valid YAML"
            self.problem(mark.line + 1 if mark else None, "YAML", f"{what}{where}")
            return NOT_YAML
        except yaml.YAMLError as error:
            self.problem(None, "YAML", str(error))
            return NOT_YAML
        finally:
            loader.dispose()
        for key, first, again in loader.duplicates:
            self.problem(again, key, f"appears twice in one mapping (first on line {first}); "
                                     "keep one")
        return data

    def read(self, reference: str, line: int | None, key: str) -> tuple[str, SuiteReader] | None:
        """The text of a ``file://`` reference and a reader for problems inside it."""
        path = self.base_dir / reference[len(FILE):]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "it is not UTF-8 text"
            self.problem(line, key, f"cannot read {path}: {reason}")
            return None
        return text, SuiteReader(str(path), path.parent, self.problems)

    def load(self, reference: str, line: int | None, key: str) -> tuple[Any, SuiteReader] | None:
        """The YAML (or JSON) data in a ``file://`` reference."""
        found = self.read(reference, line, key)
        if found is None:
            return None
        text, reader = found
        data = json_data(text, reader) if reference.lower().endswith(".json") \
            else reader.load_yaml(text)
        return None if data is NOT_YAML else (data, reader)


def json_data(text: str, reader: SuiteReader) -> Any:
    """A JSON file's data; with line numbers where it also reads as YAML (JSON indented with
    tabs, for one, does not: then its problems name the file without a line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        reader.problem(error.lineno, "JSON", f"{error.msg} (line {error.lineno}, "
                                             f"column {error.colno})")
        return NOT_YAML
    scratch = SuiteReader(reader.source, reader.base_dir, [])
    lined = scratch.load_yaml(text)
    return unlined(data) if scratch.problems else lined


def unlined(value: Any, line: int | None = None) -> Any:
    """JSON data in the shapes the parser reads, every part said to be on ``line``."""
    if isinstance(value, dict):
        mapping = LinedMap((key, unlined(item, line)) for key, item in value.items())
        mapping.line, mapping.key_lines = line, {}
        return mapping
    if isinstance(value, list):
        sequence = LinedSeq(unlined(item, line) for item in value)
        sequence.line, sequence.item_lines = line, [line] * len(sequence)
        return sequence
    return value



def text_of(reader: SuiteReader, value: Any, line: int | None, key: str) -> str | None:
    """A scalar as text (numbers too); a list or mapping is a problem."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        reader.problem(line, key, "must be a text")
        return None
    return str(value)


def threshold_of(reader: SuiteReader, node: LinedMap, name: str) -> float | None:
    value = node.get("threshold")
    if value is None:
        return None
    if not is_number(value):
        reader.problem(node.line_of("threshold"), "threshold", f"in {name}: not a number: "
                                                               f"{value!r}")
        return None
    return float(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_chat(text: str) -> list | None:
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, list) and data and all(
            isinstance(m, dict) and "role" in m for m in data):
        return data
    return None


def short(label: str, width: int = 40) -> str:
    first = label.strip().splitlines()[0] if label.strip() else label
    return first if len(first) <= width else first[:width - 1] + "…"

