"""A check's value is a template over its case's variables, as promptfoo renders an assertion's
``value`` (src/assertions/index.ts ``runAssertion``: nunjucks over the test's vars, for a
string and for each string of a list; a ``file://`` reference is not rendered).

So one *every case* check ``icontains: {{ expected }}`` checks each case against its own
expected answer, instead of failing every cell with "does not contain '{{ expected }}'".

Rendered in the project's sandbox (core/template_sandbox.py, the prompts' own), with two
choices where promptfoo would quietly render a wrong value:

- a variable the case does not define is an error, not an empty string (an empty
  ``contains`` value would pass every output): the same rule as the prompts';
- a value that still holds ``{{`` after rendering (a variable whose own value is a template,
  a ``{% raw %}`` block) is an error too: it would be checked literally, which is never what
  was meant.

Both are found before anything is generated (preflight.py names the check and the case, with
file:line for a suite); a value that fails anyway while checking fails its check, saying why.
``expected`` is the case's expected answer, unless the case has a variable of that name.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError

from ...core.cases import TestCase
from ...core.errors import WorkbenchError
from ...core.evaluation import Assertion
from ...core.template_limits import TemplateLimitError
from ...core.template_sandbox import BoundedSandbox

MARKERS = ("{{", "{%", "{#")  # a value without any of these renders as itself
EXPECTED = "expected"
FILE_REFERENCE = "file://"
QUOTE_CHARS = 40

_ENV = BoundedSandbox(undefined=StrictUndefined, keep_trailing_newline=True)


class CheckValueError(WorkbenchError):
    """A check's value cannot be rendered for a case; the message says why, without naming
    the check or the case (the caller does)."""


def variables_of(variables: dict[str, Any], expected: str | None) -> dict[str, Any]:
    """What a check's value may use: the case's variables, and ``expected`` (its expected
    answer) when it has one and no variable of that name."""
    if expected is None or EXPECTED in variables:
        return variables
    return {**variables, EXPECTED: expected}


def case_variables(case: TestCase) -> dict[str, Any]:
    return variables_of(case.variables, case.expected)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(FILE_REFERENCE) \
        and any(marker in value for marker in MARKERS)


def rendered(assertion: Assertion, variables: dict[str, Any]) -> Assertion:
    """The assertion with its value rendered over ``variables`` (itself when nothing in the
    value is a template). An assert-set's own are rendered where they are checked."""
    value = assertion.value
    if isinstance(value, str):
        new = _render(value, variables)
    elif isinstance(value, (list, tuple)):
        new = type(value)(_render(item, variables) if isinstance(item, str) else item
                          for item in value)
    else:
        return assertion
    return assertion if new == value else replace(assertion, value=new)


def _render(value: str, variables: dict[str, Any]) -> str:
    if not is_template(value):
        return value
    try:
        text = _template(value).render(**variables)
    except UndefinedError as error:
        raise CheckValueError(f"its value {_quoted(value)} cannot be rendered: "
                              f"{error}") from None
    except TemplateLimitError as error:
        raise CheckValueError(f"its value {_quoted(value)} was refused: {error}") from None
    except CheckValueError:
        raise
    except Exception as error:  # noqa: BLE001 - a template bug is the value's problem
        raise CheckValueError(f"its value {_quoted(value)} failed to render: {error}") from None
    if "{{" in text:
        raise CheckValueError(f"its value {_quoted(value)} still holds '{{{{' after rendering "
                              f"({_quoted(text)}), so it would be checked literally")
    return text


@lru_cache(maxsize=256)
def _template(source: str):
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise CheckValueError(f"its value {_quoted(source)} is not a valid template: "
                              f"{error.message}") from None


def _quoted(text: str) -> str:
    text = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"
    return repr(text)
