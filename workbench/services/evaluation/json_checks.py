"""``contains-json``: a JSON object somewhere in the output, as promptfoo finds one.

promptfoo 0.123.1 (the peer tests/conformance runs; src/assertions/json.ts, src/util/json.ts
``extractJsonObjects``) looks at every ``{``: it counts braces forward (quotes are not
special) and, each time they balance — or at the end of the text, closing what is still
open — reads the text so far as YAML in JSON mode after turning ``//`` comments into ``#``;
the first reading that is a mapping is an object, and the search goes on after it. So prose
around an object, a ```json fence, several objects, an object cut off at the end of the
answer and YAML's flow mappings (``{name: Ann}``) all count; a bare array or number does not.
With a value (a JSON Schema, as an object or as YAML/JSON text) the assertion passes when at
least one of the objects satisfies it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

MAX_OBJECT_CHARS = 100_000  # promptfoo's maxJsonLength
LETTER = re.compile(r"[a-zA-Z]")


class _Yaml12(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans, as js-yaml reads them: ``yes``, ``no``,
    ``on`` and ``off`` stay text (YAML 1.1 made them booleans)."""


_Yaml12.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def json_objects(text: str) -> list[dict]:
    """Every object in ``text`` as promptfoo finds them, in order."""
    found: list[dict] = []
    i = 0
    while i < len(text):
        if text[i] == "{":
            end = _object_end(text, i, found)
            if end is not None:
                i = end - 1
        i += 1
    return found


def _object_end(text: str, start: int, found: list[dict]) -> int | None:
    """Where the object found from ``start`` ends (appended to ``found``), or None."""
    opened, closed, j = 1, 0, start + 1
    limit = min(start + MAX_OBJECT_CHARS, len(text))
    while j < limit and opened > closed:
        opened += text[j] == "{"
        closed += text[j] == "}"
        j += 1
        if opened == closed or j == len(text) or j == start + MAX_OBJECT_CHARS:
            candidate = text[start:j] + "}" * max(0, opened - closed)
            try:
                value = yaml.load(slash_comments_to_hash(candidate), Loader=_Yaml12)
            except yaml.YAMLError:
                if opened == closed:
                    return None
                continue
            if isinstance(value, (dict, list)):
                if isinstance(value, dict):
                    found.append(value)
                return j
    return None


def slash_comments_to_hash(text: str) -> str:
    """promptfoo's ``convertSlashCommentsToHash``: ``// note`` outside quotes becomes
    ``# note`` (``////`` two hashes); a ``://`` in a URL is left alone."""
    return "\n".join(_line_without_slashes(line) for line in text.split("\n"))


def _line_without_slashes(line: str) -> str:
    state, result, i = "normal", "", 0
    while i < len(line):
        char = line[i]
        after = line[i + 1] if i + 1 < len(line) else ""
        before = line[i - 1] if i > 0 else ""
        if state == "normal":
            if char == "'" and not LETTER.match(before):
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "/" and after == "/":
                token = next((j + 1 for j in range(i - 1, -1, -1) if line[j].isspace()), 0)
                if "://" not in line[token:i + 2]:  # a URL's slashes are kept
                    slashes = 2
                    while i + slashes < len(line) and line[i + slashes] == "/":
                        slashes += 1
                    return result + "#" * (slashes // 2) + line[i + slashes:]
            result += char
        elif state == "single":
            result += char
            if char == "'" and not _escaped(line, i) and not LETTER.match(after):
                state = "normal"
        else:
            result += char
            if char == '"' and not _escaped(line, i):
                state = "normal"
        i += 1
    return result


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and line[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def schema_of(value: Any) -> dict | None:
    """The JSON Schema an assertion's value gives: an object, or YAML/JSON text of one."""
    if isinstance(value, str):
        try:
            value = yaml.load(value, Loader=_Yaml12)
        except yaml.YAMLError:
            return None
    return value if isinstance(value, dict) else None


def schema_problem(value: Any, name: str = "contains-json") -> str | None:
    """Why ``value`` is not a usable JSON Schema (None: it is, or there is none)."""
    if value is None:
        return None
    schema = schema_of(value)
    if schema is None:
        return f"{name}'s value must be a JSON Schema (an object, or YAML text of one)"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        return f"{name}'s JSON Schema is invalid: {error.message}"
    return None


def contains_json(value: Any, text: str) -> tuple[bool, float, str]:
    """(passed, score, what was found) for the plain form."""
    objects = json_objects(text)
    if not objects:
        return False, 0.0, "contains no JSON object"
    if value is None:
        return True, 1.0, f"contains {_count(len(objects))}"
    schema = schema_of(value) or {}
    validator = validator_for(schema)(schema)
    errors = []
    for document in objects:
        error = best_match(validator.iter_errors(document))
        if error is None:
            return True, 1.0, "contains a JSON object that matches the JSON Schema"
        errors.append(error)
    return False, 0.0, (f"{_count(len(objects))}, none matches the JSON Schema: "
                        f"{errors[0].message}")


def _count(n: int) -> str:
    return "a JSON object" if n == 1 else f"{n} JSON objects"
