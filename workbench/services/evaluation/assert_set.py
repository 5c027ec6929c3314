"""promptfoo's ``assert-set``: a group of assertions scored as one, inside a test's ``assert``.

What promptfoo does (src/assertions/index.ts ``runAssertions``, ``AssertionsResult``): the
set's assertions are run like the test's own, each with its weight (weight 0: forced to pass),
and combined by the same rule — the weighted mean of their scores is the set's score; with the
set's own ``threshold`` the set passes when that mean reaches it, without one when each of its
assertions passes. The set then counts in the test as one assertion, with the set's ``weight``
and ``metric``. A set's weight 0 only takes it out of the test's score: promptfoo does not
force a set to pass. A set inside a set, or a ``select-best`` in one, is not run by promptfoo:
both are refused when the suite is read.

``assert-set`` YAML::

    - type: assert-set
      threshold: 0.5          # optional: the set passes when its weighted mean reaches it
      weight: 2               # optional: its weight in the test
      metric: tone            # optional: the name it is reported under
      assert:
        - {type: icontains, value: paris}
        - {type: max-length, value: 200}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ...core.evaluation import ASSERT_SET, Assertion, AssertionResult, combine
from .suite_yaml import LinedMap, SuiteReader, is_number, text_of, threshold_of

SET_KEYS = ("type", "assert", "weight", "threshold", "metric")


def set_result(assertion: Assertion, run: Callable[[Assertion], AssertionResult]
               ) -> AssertionResult:
    """The set's result: each of its assertions run by ``run`` (the evaluator's, so judges,
    likelihood, similar and perplexity work inside a set), combined by promptfoo's rule."""
    children = tuple(run(child) for child in assertion.assertions
                     if child.type != "select-best")
    verdict = combine(children, assertion.threshold)
    reason = ""
    if not verdict.passed:
        reason = verdict.reason
        if assertion.threshold is not None:
            reason = f"score {verdict.score:.2f} < {assertion.threshold:g}" + (
                f" ({reason})" if reason else "")
    return AssertionResult(assertion, verdict.passed, verdict.score, reason, verdict.results)


def set_problem(assertion: Assertion) -> str | None:
    """What is wrong with a set as a set (its assertions are checked one by one, where they
    are written)."""
    if assertion.negate:
        return "an assert-set has no not- form"
    if not assertion.assertions:
        return "an assert-set needs an assert list of assertions"
    for child in assertion.assertions:
        if child.type == ASSERT_SET:
            return ("an assert-set cannot hold another assert-set (promptfoo does not run "
                    "one); write its assertions into this one")
        if child.type == "select-best":
            return ("select-best compares the variants' outputs: it cannot be in an "
                    "assert-set")
    return None


def flat(assertions: Iterable[Assertion]) -> Iterator[Assertion]:
    """Each assertion, and the assertions of each set after the set itself."""
    for assertion in assertions:
        yield assertion
        yield from assertion.assertions


def read_set(read_assertions: Callable[..., tuple[Assertion, ...]], reader: SuiteReader,
             item: LinedMap, line: int | None, name: str) -> Assertion:
    """An ``assert-set`` item of a suite's ``assert`` list; ``read_assertions`` reads (and
    checks) its own list as the suite reader reads a test's."""
    reader.unsupported(item, SET_KEYS, "in an assert-set")
    weight: Any = item.get("weight", 1.0)
    if not is_number(weight):
        reader.problem(item.line_of("weight"), "weight", f"in {name}: not a number")
        weight = 1.0
    children = read_assertions(reader, item.get("assert"), item.line_of("assert") or line, name)
    return Assertion(ASSERT_SET, weight=float(weight), threshold=threshold_of(reader, item, name),
                     metric=text_of(reader, item.get("metric"), item.line_of("metric"), "metric"),
                     line=line, assertions=children)
