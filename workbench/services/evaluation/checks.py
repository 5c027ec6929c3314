"""Deterministic assertions: every type in ``core.evaluation.ASSERTION_TYPES`` except the
model-graded ones (those go to ``judge``).

Each check describes what it *found* in one short sentence ("contains 'Paris'", "ROUGE-L 0.31 <
0.50"); the result keeps that sentence as its reason when the assertion fails, so a ``not-``
form needs no second wording: ``not-contains`` fails with "contains 'Paris'".

Choices where promptfoo leaves room:
- ``equals`` and ``levenshtein`` compare after stripping surrounding whitespace on both sides
  (models add a leading space or a trailing newline; YAML block scalars add a newline to the
  value); ``starts-with`` ignores the output's leading whitespace for the same reason.
  ``contains``, ``regex`` and the lengths look at the output exactly as generated.
- ``is-json`` needs the whole output (surrounding whitespace aside) to be JSON, as promptfoo's
  does; a ```json fence around it fails.
- An assertion that cannot be evaluated (no reference text, no timing, a scorer that raised)
  fails in both its plain and its ``not-`` form: "unknown" is never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rapidfuzz.distance import Levenshtein

from ...core.evaluation import (
    EVALUATED,
    MODEL_GRADED,
    THRESHOLD_DEFAULTS,
    Assertion,
    AssertionResult,
)
from ...core.text_metrics import json_value, rouge_l
from ...core.wording import counted
from ...plugins.manager import PluginManager
from .cost import cost_finding
from .grounded import ChunksOf, grounded_finding
from .javascript import check_finding
from .json_checks import contains_json
from .openai_tools import tools_call
from .refusal import refusal_phrase

REASON_CHARS = 120  # a reason is one short line in a grid cell's tooltip
QUOTE_CHARS = 40  # how much of a value a reason quotes


@dataclass(frozen=True)
class CheckContext:
    """One output and what was measured while it was generated."""

    text: str  # the output
    expected: str | None = None  # the case's reference answer
    token_count: int = 0  # generated tokens
    total_s: float | None = None  # the whole answer, seconds
    tokens_per_second: float | None = None
    plugins: PluginManager | None = None  # scorers (python) and output filters (flagged)
    retrieved: ChunksOf | None = None  # the chunks the prompt contained (grounded), when asked
    # what a javascript check sees: the case's variables, the prompt as promptfoo gives it
    # (its text; a chat as JSON), and the output as a transform left it (None: the text)
    variables: dict | None = None
    prompt: str = ""
    value: Any = None


@dataclass(frozen=True)
class Finding:
    """What a check found: ``passed`` for the plain (not negated) form, a score in 0..1, and a
    sentence true of the output either way. ``usable`` False: the check could not run, so the
    assertion fails whatever its form."""

    passed: bool
    score: float
    found: str
    usable: bool = True
    noop: bool = False  # nothing to check here (cost): passes in both forms, saying why


def check(assertion: Assertion, context: CheckContext) -> AssertionResult:
    """Evaluate one deterministic assertion on one output."""
    checker = CHECKERS.get(assertion.type)
    if checker is None:
        if assertion.type in MODEL_GRADED:
            finding = _unusable(f"{assertion.type} is model-graded: a judge grades it")
        elif assertion.type in EVALUATED:
            finding = _unusable(f"{assertion.type} is checked by the evaluator (it needs the "
                                "output's model, an embedding model or other assertions)")
        else:
            finding = _unusable(f"unknown assertion type '{assertion.name}'")
    else:
        finding = checker(assertion, context)
    if not finding.usable:
        return AssertionResult(assertion, False, 0.0, _cut(finding.found))
    if finding.noop:
        return AssertionResult(assertion, True, 1.0, _cut(finding.found))
    passed = finding.passed != assertion.negate
    score = _clamp(1.0 - finding.score if assertion.negate else finding.score)
    return AssertionResult(assertion, passed, score, "" if passed else _cut(finding.found))


# -- text ---------------------------------------------------------------------------------

def _equals(assertion: Assertion, context: CheckContext) -> Finding:
    expected = str(assertion.value).strip()
    if context.text.strip() == expected:
        return _yes(f"equals {_quote(expected)}")
    return _no(f"{_quote(context.text.strip())} is not {_quote(expected)}")


def _contains(assertion: Assertion, context: CheckContext) -> Finding:
    needle = str(assertion.value)
    ignore_case = assertion.type.startswith("i")
    found = _has(context.text, needle, ignore_case)
    return _verdict(found, f"contains {_quote(needle)}", f"does not contain {_quote(needle)}")


def _contains_any(assertion: Assertion, context: CheckContext) -> Finding:
    needles = [str(v) for v in _as_list(assertion.value)]
    ignore_case = assertion.type.startswith("i")
    present = [n for n in needles if _has(context.text, n, ignore_case)]
    if present:
        return _yes(f"contains {_quote(present[0])}")
    return _no(f"contains none of {_quotes(needles)}")


def _contains_all(assertion: Assertion, context: CheckContext) -> Finding:
    needles = [str(v) for v in _as_list(assertion.value)]
    ignore_case = assertion.type.startswith("i")
    missing = [n for n in needles if not _has(context.text, n, ignore_case)]
    if not missing:
        return _yes(f"contains all of {_quotes(needles)}")
    return Finding(False, 1.0 - len(missing) / len(needles) if needles else 0.0,
                   f"does not contain {_quotes(missing)}")


def _starts_with(assertion: Assertion, context: CheckContext) -> Finding:
    prefix = str(assertion.value)
    begins = context.text.lstrip().startswith(prefix)
    return _verdict(begins, f"starts with {_quote(prefix)}",
                    f"starts with {_quote(context.text.lstrip()[:len(prefix) + 10])}, "
                    f"not {_quote(prefix)}")


def _regex(assertion: Assertion, context: CheckContext) -> Finding:
    pattern = str(assertion.value)
    try:
        found = re.search(pattern, context.text) is not None
    except re.error as error:
        return _unusable(f"regex {pattern!r} does not compile: {error}")
    return _verdict(found, f"regex {pattern!r} matches", f"regex {pattern!r} does not match")


def _is_json(assertion: Assertion, context: CheckContext) -> Finding:
    document, error = json_value(context.text)
    if error is not None:
        return _no(f"not JSON: {error}")
    schema = assertion.value
    if schema is None:
        return _yes("is JSON")
    if not isinstance(schema, dict):
        return _unusable("is-json's value must be a JSON Schema (an object)")
    error = best_match(validator_for(schema)(schema).iter_errors(document))
    if error is None:
        return _yes("is JSON that matches the JSON Schema")
    return _no(f"JSON Schema: {error.message}")


def _is_refusal(assertion: Assertion, context: CheckContext) -> Finding:
    phrase = refusal_phrase(context.text)
    if phrase is None:
        return _no("does not refuse")
    return _yes(f"refuses ({_quote(phrase)})" if phrase else "refuses (the output is empty)")


# -- similarity ---------------------------------------------------------------------------

def _rouge_l(assertion: Assertion, context: CheckContext) -> Finding:
    reference = _reference(assertion, context)
    if reference is None:
        return _unusable("ROUGE-L needs a reference: a value or the case's expected output")
    threshold = _threshold(assertion)
    score = rouge_l(context.text, reference)
    return _measured(score >= threshold, score, f"ROUGE-L {score:.2f}",
                     f"{threshold:.2f}", higher_is_better=True)


def _levenshtein(assertion: Assertion, context: CheckContext) -> Finding:
    reference = _reference(assertion, context)
    if reference is None:
        return _unusable("Levenshtein needs a reference: a value or the case's expected output")
    threshold = _threshold(assertion)
    text, reference = context.text.strip(), reference.strip()
    edits = Levenshtein.distance(text, reference)
    similarity = Levenshtein.normalized_similarity(text, reference)
    return _measured(edits <= threshold, similarity, f"{edits} edits", f"{threshold:g}",
                     higher_is_better=False)


# -- limits -------------------------------------------------------------------------------

def _min_length(assertion: Assertion, context: CheckContext) -> Finding:
    fewest, length = float(assertion.value), len(context.text)
    return _measured(length >= fewest, 1.0 if length >= fewest else 0.0,
                     f"{length} characters", f"{fewest:g}", higher_is_better=True)


def _max_length(assertion: Assertion, context: CheckContext) -> Finding:
    most, length = float(assertion.value), len(context.text)
    return _measured(length <= most, 1.0 if length <= most else 0.0,
                     f"{length} characters", f"{most:g}", higher_is_better=False)


def _max_tokens(assertion: Assertion, context: CheckContext) -> Finding:
    most, count = float(assertion.value), context.token_count
    return _measured(count <= most, 1.0 if count <= most else 0.0,
                     counted(count, "token"), f"{most:g}", higher_is_better=False)


def _latency(assertion: Assertion, context: CheckContext) -> Finding:
    most_ms = _limit(assertion)
    if most_ms is None:
        return _unusable("latency needs a threshold in milliseconds")
    if context.total_s is None:
        return _unusable("no time was recorded for this output")
    seconds, limit_s = context.total_s, most_ms / 1000
    ok = seconds <= limit_s
    return _measured(ok, 1.0 if ok else 0.0, f"{seconds:.2f} s", f"{limit_s:.2f} s",
                     higher_is_better=False)


def _tokens_per_second(assertion: Assertion, context: CheckContext) -> Finding:
    fewest = _limit(assertion)
    if fewest is None:
        return _unusable("tokens-per-second needs a threshold (the fewest tokens per second)")
    if context.tokens_per_second is None:
        return _unusable("no speed was recorded for this output")
    speed = context.tokens_per_second
    ok = speed >= fewest
    return _measured(ok, 1.0 if ok else 0.0, f"{speed:.1f} tokens/s", f"{fewest:.1f} tokens/s",
                     higher_is_better=True)


# -- plugins ------------------------------------------------------------------------------

def _python(assertion: Assertion, context: CheckContext) -> Finding:
    name = str(assertion.value or "")
    if context.plugins is None:
        return _unusable(f"scorer '{name}' cannot run: no plugins are loaded")
    owners = [(plugin, scorer) for plugin, scorer in
              context.plugins.contributions("register_scorers") if scorer.name == name]
    if not owners:
        return _unusable(f"no active plugin scorer is called '{name}'")
    plugin, scorer = owners[0]
    # The manager's own isolation: a scorer that raises or hangs is reported and switched off.
    ok, value = context.plugins.guarded(
        plugin, f"scorer '{name}'", scorer.score, context.text, context.expected,
        check=lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)),
        expected="a number or None")
    if not ok:
        record = context.plugins.records.get(plugin)
        why = record.error if record is not None and record.error else "failed"
        return _unusable(f"plugin '{plugin}' {why}")
    if value is None:
        return _unusable(f"scorer '{name}' gave no score for this output")
    threshold = _threshold(assertion)
    value = float(value)
    return _measured(value >= threshold, value, f"scorer '{name}' {value:.2f}",
                     f"{threshold:.2f}", higher_is_better=True)


def _flagged(assertion: Assertion, context: CheckContext) -> Finding:
    plugins = context.plugins
    if plugins is None:
        return _unusable("output filters cannot run: no plugins are loaded")
    name = assertion.value
    if name is None:
        flags = plugins.check_output(context.text)
    else:
        chosen = [(plugin, f) for plugin, f in
                  plugins.contributions("register_output_filters") if f.name == name]
        if not chosen:
            return _unusable(f"no active output filter is called '{name}'")
        plugin, output_filter = chosen[0]
        ok, flags = plugins.guarded(
            plugin, f"output filter '{name}'", output_filter.check, context.text,
            check=lambda v: isinstance(v, list), expected="a list of Flag")
        if not ok:
            record = plugins.records.get(plugin)
            why = record.error if record is not None and record.error else "failed"
            return _unusable(f"plugin '{plugin}' {why}")
    if flags:
        reasons = list(dict.fromkeys(flag.reason for flag in flags))
        return _yes("flagged: " + ", ".join(reasons))
    return _no(f"not flagged by {_quote(name) if name else 'any output filter'}")


def _grounded(assertion: Assertion, context: CheckContext) -> Finding:
    return Finding(*grounded_finding(context.text, context.retrieved))


CHECKERS: dict[str, Callable[[Assertion, CheckContext], Finding]] = {
    "equals": _equals,
    "contains": _contains,
    "icontains": _contains,
    "contains-any": _contains_any,
    "icontains-any": _contains_any,
    "contains-all": _contains_all,
    "icontains-all": _contains_all,
    "starts-with": _starts_with,
    "regex": _regex,
    "is-json": _is_json,
    "rouge-l": _rouge_l,
    "levenshtein": _levenshtein,
    "min-length": _min_length,
    "max-length": _max_length,
    "max-tokens": _max_tokens,
    "latency": _latency,
    "tokens-per-second": _tokens_per_second,
    "python": _python,
    "flagged": _flagged,
    "is-refusal": _is_refusal,
    "grounded": _grounded,
    "contains-json": lambda a, c: Finding(*contains_json(a.value, c.text)),  # json_checks.py
    "is-valid-openai-tools-call": lambda a, c: Finding(*tools_call(a.value, c.text)),
    "cost": lambda a, c: Finding(*cost_finding(a)),  # cost.py: a no-op for local models
    "javascript": lambda a, c: Finding(*check_finding(  # javascript.py: in its sandbox
        a.value, a.threshold, c.text if c.value is None else c.value, c.variables or {},
        c.prompt)),
}


# -- helpers ------------------------------------------------------------------------------

def _yes(found: str) -> Finding:
    return Finding(True, 1.0, found)


def _no(found: str) -> Finding:
    return Finding(False, 0.0, found)


def _verdict(passed: bool, when_passed: str, when_failed: str) -> Finding:
    return _yes(when_passed) if passed else _no(when_failed)


def _unusable(why: str) -> Finding:
    return Finding(False, 0.0, why, usable=False)


def _measured(passed: bool, score: float, measured: str, limit: str, *,
              higher_is_better: bool) -> Finding:
    """"ROUGE-L 0.31 < 0.50": the comparison as it came out, true whichever way it went."""
    if higher_is_better:
        sign = "≥" if passed else "<"
    else:
        sign = "≤" if passed else ">"
    return Finding(passed, score, f"{measured} {sign} {limit}")


def _has(text: str, needle: str, ignore_case: bool) -> bool:
    return needle.casefold() in text.casefold() if ignore_case else needle in text


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _reference(assertion: Assertion, context: CheckContext) -> str | None:
    reference = assertion.value if assertion.value not in (None, "") else context.expected
    return None if reference in (None, "") else str(reference)


def _threshold(assertion: Assertion) -> float:
    if assertion.threshold is not None:
        return float(assertion.threshold)
    return float(THRESHOLD_DEFAULTS[assertion.type])


def _limit(assertion: Assertion) -> float | None:
    """latency / tokens-per-second: the threshold, or a number given as the value."""
    for candidate in (assertion.threshold, assertion.value):
        if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
            return float(candidate)
    return None


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…")


def _quotes(texts: list[str]) -> str:
    return ", ".join(_quote(t) for t in texts)


def _cut(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS - 1] + "…"


def _clamp(score: float) -> float:
    return min(1.0, max(0.0, score))
