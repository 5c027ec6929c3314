"""Is an assertion usable as written? Checked before anything is generated, so a typo in a
regex fails the run in a second, not after an hour of generation."""

from __future__ import annotations

import re

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from ...core.evaluation import ASSERTION_TYPES, MODEL_GRADED, Assertion
from .assert_set import set_problem
from .check_values import is_template
from .cost import cost_problem
from .javascript import javascript_problem, transform_problem
from .json_checks import schema_problem
from .openai_tools import tools_problem
from .perplexity import perplexity_problem
from .similar import SIMILAR_TYPES, similar_problem

LIST_TYPES = {"contains-any", "contains-all", "icontains-any", "icontains-all"}
TEXT_TYPES = {"equals", "contains", "icontains", "starts-with", "regex", "llm-rubric",
              "select-best"}
NUMBER_TYPES = {"min-length", "max-length", "max-tokens"}
THRESHOLD_TYPES = {"latency", "tokens-per-second"}
# promptfoo's types that came with issue 24, each checked by its own module
OWN_PROBLEMS = {"assert-set": set_problem, "cost": cost_problem,
                "contains-json": lambda a: schema_problem(a.value),
                "is-valid-openai-tools-call": lambda a: tools_problem(a.value),
                "perplexity": perplexity_problem, "perplexity-score": perplexity_problem,
                "javascript": javascript_problem,  # javascript.py: compiled in its sandbox
                **dict.fromkeys(SIMILAR_TYPES, similar_problem)}


def assertion_problem(assertion: Assertion, *, scorers: set[str] | None = None,
                      filters: set[str] | None = None) -> str | None:
    """One sentence saying what is wrong with ``assertion``, or None when it can run.

    ``scorers``/``filters``: the names plugins registered (None: not checked here)."""
    kind, value = assertion.type, assertion.value
    if kind not in ASSERTION_TYPES:
        known = ", ".join(sorted(ASSERTION_TYPES))
        return f"unknown assertion type '{assertion.name}' (known: {known}; each also as not-…)"
    if assertion.weight < 0:
        return f"{assertion.name}: weight must be 0 or more, not {assertion.weight}"
    if kind in LIST_TYPES:
        if not isinstance(value, list) or not value or not all(
                isinstance(v, (str, int, float)) for v in value):
            return f"{assertion.name} needs a list of texts as its value"
    elif kind in TEXT_TYPES and (not isinstance(value, (str, int, float)) or value == ""):
        return f"{assertion.name} needs a text value ({ASSERTION_TYPES[kind]})"
    # A templated value is checked once rendered for each case (the preflight's
    # value_problems): as written, '{{ n }}' is no JavaScript and may be no regex.
    templated = is_template(value) or isinstance(value, list) and any(map(is_template, value))
    if kind == "regex" and not templated:
        try:
            re.compile(str(value))
        except re.error as error:
            return f"regex {value!r} does not compile: {error}"
    if kind == "is-json" and value is not None:
        if not isinstance(value, dict):
            return "is-json's value must be a JSON Schema (an object)"
        try:
            validator_for(value).check_schema(value)
        except SchemaError as error:
            return f"is-json's JSON Schema is invalid: {error.message}"
    if kind in NUMBER_TYPES and not _number(value):
        return f"{assertion.name} needs a number as its value ({ASSERTION_TYPES[kind]})"
    if kind in THRESHOLD_TYPES and not _number(
            assertion.threshold if assertion.threshold is not None else value):
        return f"{assertion.name} needs a threshold ({ASSERTION_TYPES[kind]})"
    if kind == "likelihood":
        limit = assertion.threshold if assertion.threshold is not None else value
        if not _number(limit):
            return ("likelihood needs a threshold: the highest perplexity of the expected "
                    "answer allowed (the case also needs an expected answer)")
        if limit < 1:
            return (f"likelihood: threshold {limit:g} can never be met (a perplexity is 1 or "
                    "more)")
    if kind == "python":
        if not isinstance(value, str) or not value.strip():
            return "python needs the name of a plugin scorer as its value"
        if "\n" in value or value.startswith("file://"):
            return ("python assertions name a scorer registered by a plugin "
                    "(register_scorers): Python code in a suite is not run, it would run with "
                    "the app's full rights (javascript checks run in a sandbox with no I/O)")
        if scorers is not None and value not in scorers:
            return (f"no plugin scorer is called '{value}' "
                    f"(registered: {', '.join(sorted(scorers)) or 'none'})")
    if kind == "flagged" and value is not None and filters is not None and value not in filters:
        return (f"no output filter is called '{value}' "
                f"(registered: {', '.join(sorted(filters)) or 'none'})")
    if kind in MODEL_GRADED and assertion.threshold is not None and not (
            0 <= assertion.threshold <= 1):
        return f"{assertion.name}: threshold is a score from 0 to 1"
    if kind in OWN_PROBLEMS and not templated and (problem := OWN_PROBLEMS[kind](assertion)):
        return problem
    return transform_problem(assertion.transform)  # javascript.py


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
