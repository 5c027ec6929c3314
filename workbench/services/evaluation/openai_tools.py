"""``is-valid-openai-tools-call``: the output is a call of OpenAI tools that the tools accept.

promptfoo (src/assertions/openai.ts, ``validateFunctionCall`` in src/providers/openai/util.ts)
reads the provider's structured answer — ``tool_calls``, a list of ``{type: function,
function: {name, arguments}}`` with ``arguments`` a JSON text — and checks each call against
the provider's ``config.tools``: a tool of that name must exist and the parsed arguments must
satisfy its ``parameters`` JSON Schema.

Here an answer is text, so the text is read as that structure (the whole output as JSON,
surrounding whitespace aside): a list of calls, or an object with ``tool_calls``. The tools
are the assertion's value (a list of OpenAI tool definitions) — a provider here has no
``tools`` setting; without a value only the calls' shape is checked (the run's notes say so).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

SHAPE = "not a valid-looking tools call"


def tools_problem(value: Any) -> str | None:
    """Why ``value`` is not a list of OpenAI tools (None: it is, or there is none)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        return ("is-valid-openai-tools-call's value is the tools: a list of {type: function, "
                "function: {name, parameters}}")
    for tool in value:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return ("a tool must be {type: function, function: {name, parameters}}, "
                    f"not {tool!r}")
        schema = function.get("parameters", {})
        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as error:
            return (f"tool '{function['name']}': its parameters are not a JSON Schema: "
                    f"{error.message}")
    return None


def tools_call(value: Any, text: str) -> tuple[bool, float, str]:
    """(passed, score, what was found) for the plain form."""
    calls, why = _calls(text)
    if calls is None:
        return False, 0.0, f"{SHAPE}: {why}"
    if value is None:
        return True, 1.0, f"{_count(len(calls))} of the right shape"
    tools = {tool["function"]["name"]: tool["function"] for tool in value}
    for call in calls:
        function = call["function"]
        name = function["name"]
        if name not in tools:
            return False, 0.0, f"called '{name}', but there is no tool with that name"
        try:
            arguments = json.loads(function["arguments"])
        except ValueError as error:
            return False, 0.0, f"the arguments of '{name}' are not JSON: {error}"
        schema = tools[name].get("parameters", {})
        error = best_match(validator_for(schema)(schema).iter_errors(arguments))
        if error is not None:
            return False, 0.0, f"the call of '{name}' does not match its parameters: " \
                               f"{error.message}"
    return True, 1.0, f"{_count(len(calls))} the tools accept"


def _calls(text: str) -> tuple[list[dict] | None, str]:
    try:
        data = json.loads(text.strip())
    except ValueError as error:
        return None, f"not JSON ({error})"
    if isinstance(data, dict) and "tool_calls" in data:
        data = data["tool_calls"]
    if not isinstance(data, list) or not data:
        return None, "expected a list of tool calls (or {tool_calls: [...]})"
    for call in data:
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments"), str)):
            return None, f"a call is {{type: function, function: {{name, arguments}}}} with " \
                         f"arguments as JSON text, not {json.dumps(call)[:60]}"
    return data, ""


def _count(n: int) -> str:
    return "1 tool call" if n == 1 else f"{n} tool calls"
