"""``contains-json``: a JSON object somewhere in the output, as promptfoo finds one.

promptfoo (src/assertions/json.ts, src/util/json.ts ``extractJsonObjects``) scans the text for
every ``{`` and parses the JSON object that starts there, if any, then goes on after it: prose
around the object, a ```json fence, several objects (or the objects of an array) are all
fine; a bare array or number is not an object. With a value (a JSON Schema, as an object or
as YAML/JSON text) the assertion passes when at least one of the objects satisfies it.

The parsing is strict JSON, as JavaScript's ``JSON.parse`` is: ``NaN`` and ``Infinity``,
which Python's json module would accept, are not JSON here either.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


DECODER = json.JSONDecoder(parse_constant=_not_json)


def json_objects(text: str) -> list[dict]:
    """Every JSON object in ``text``, in order; an object inside one found is part of it."""
    found: list[dict] = []
    start = text.find("{")
    while start != -1:
        try:
            value, end = DECODER.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        found.append(value)  # text from a "{" that parses is an object
        start = text.find("{", end)
    return found


def schema_of(value: Any) -> dict | None:
    """The JSON Schema an assertion's value gives: an object, or YAML/JSON text of one."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
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
