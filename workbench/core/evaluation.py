"""Evaluation, as pure data: assertions on test cases, what each one found, and a case's verdict.

The assertion types follow promptfoo's names where promptfoo has one (``contains``,
``icontains-any``, ``is-json``, ``levenshtein``, ``llm-rubric``, ``is-refusal`` …), so suites move
between the two tools; every type has a ``not-`` form. How each type is checked lives in
``services/evaluation``; this module only says what an assertion *is* and how results combine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from .ids import new_id, utc_now

# type -> what its ``value`` is (shown in the assertions editor and in "unknown type" messages)
ASSERTION_TYPES: dict[str, str] = {
    "equals": "the exact expected text",
    "contains": "text the output must contain",
    "icontains": "text the output must contain, ignoring case",
    "contains-any": "a list: at least one must appear",
    "contains-all": "a list: all must appear",
    "icontains-any": "a list: at least one must appear, ignoring case",
    "icontains-all": "a list: all must appear, ignoring case",
    "starts-with": "text the output must start with",
    "regex": "a Python regular expression the output must match (search)",
    "is-json": "optional: a JSON Schema the parsed output must satisfy",
    "rouge-l": "the reference text (default: the case's expected output); threshold 0..1",
    "levenshtein": "the reference text (default: expected); threshold = most edits allowed",
    "min-length": "fewest characters",
    "max-length": "most characters",
    "max-tokens": "most generated tokens",
    "latency": "threshold = most milliseconds for the whole answer",
    "tokens-per-second": "threshold = fewest generated tokens per second",
    "python": "the name of a scorer from a plugin (register_scorers); threshold 0..1",
    "flagged": "optional: the name of an output filter; passes when a filter flags the output",
    "is-refusal": "nothing: passes when the output refuses",
    "grounded": "nothing: passes when no quote is fabricated or misattributed against the "
                "retrieved chunks the prompt contained; score = share of quotes supported",
    "likelihood": "threshold = highest perplexity of the expected answer under the variant's "
                  "model and prompt (token inspector)",
    "llm-rubric": "the rubric a judge model grades the output against",
    "select-best": "the criterion a judge compares every variant's output by (pairwise)",
    "assert-set": "nothing: its own assert list, scored as one (weighted mean; with a "
                  "threshold of its own it passes when the mean reaches it)",
    "contains-json": "optional: a JSON Schema one JSON object in the output must satisfy",
    "is-valid-openai-tools-call": "optional: the tools (OpenAI's {type: function, function: "
                                  "{name, parameters}}) each call in the output must match",
    "similar": "a text (or a list: any one) the output must mean; threshold = lowest cosine "
               "similarity of their embeddings (default 0.75); provider = embedding model",
    "similar:cosine": "as similar",
    "similar:dot": "as similar, by the dot product of the embeddings",
    "similar:euclidean": "as similar; threshold = greatest euclidean distance",
    "perplexity": "threshold = highest perplexity of the output's own tokens under its model",
    "perplexity-score": "threshold = lowest 1/(1 + perplexity) of the output's own tokens",
    "cost": "threshold = most cost; local models cost nothing: passes, with a note",
    "javascript": "a JavaScript expression (or a body with return) of output and context "
                  "(vars, prompt) giving true/false, a score (passes above 0, or at "
                  "threshold) or {pass, score, reason}; run in a sandbox",
}
MODEL_GRADED = frozenset({"llm-rubric", "select-best"})
# Checked by the evaluator, not from the output's text alone: they need the output's model
# (likelihood, perplexity), an embedding model (similar) or other assertions (assert-set).
EVALUATED = frozenset({"likelihood", "perplexity", "perplexity-score", "similar",
                       "similar:cosine", "similar:dot", "similar:euclidean", "assert-set"})
ASSERT_SET = "assert-set"
# Types whose score is a measurement compared with ``threshold`` (the rest pass or fail).
THRESHOLD_DEFAULTS: dict[str, float] = {"rouge-l": 0.5, "levenshtein": 5, "python": 0.5,
                                        "llm-rubric": 0.5}
NEGATION = "not-"


@dataclass(frozen=True)
class Assertion:
    """One check of an output. ``negate`` is the ``not-`` form; ``weight`` 0 makes it a
    metric that is reported but does not count towards the case's score."""

    type: str
    value: Any = None
    negate: bool = False
    weight: float = 1.0
    threshold: float | None = None
    provider: str | None = None  # the judge model of a model-graded assertion
    metric: str | None = None  # the name it is reported under (default: its type)
    line: int | None = None  # where it was written in a suite file, for messages
    assertions: tuple[Assertion, ...] = ()  # an assert-set's own (promptfoo's ``assert``)
    transform: str | None = None  # JavaScript: the output as this assertion checks it

    @classmethod
    def parse(cls, type_name: str, **fields: Any) -> Assertion:
        """``not-contains`` → Assertion("contains", negate=True)."""
        negate = type_name.startswith(NEGATION) and type_name[len(NEGATION):] in ASSERTION_TYPES
        return cls(type_name[len(NEGATION):] if negate else type_name, negate=negate, **fields)

    @property
    def name(self) -> str:
        """The type as written: ``not-contains``."""
        return (NEGATION if self.negate else "") + self.type

    @property
    def label(self) -> str:
        return self.metric or self.name

    @property
    def model_graded(self) -> bool:
        return self.type in MODEL_GRADED

    def to_dict(self) -> dict[str, Any]:
        """promptfoo's shape: ``{"type": "not-contains", "value": …}``, defaults left out."""
        data: dict[str, Any] = {"type": self.name}
        if self.value is not None:
            data["value"] = self.value
        if self.weight != 1.0:
            data["weight"] = self.weight
        if self.threshold is not None:
            data["threshold"] = self.threshold
        if self.provider:
            data["provider"] = self.provider
        if self.metric:
            data["metric"] = self.metric
        if self.type == ASSERT_SET:
            data["assert"] = [a.to_dict() for a in self.assertions]
        if self.transform:
            data["transform"] = self.transform
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assertion:
        return cls.parse(
            str(data["type"]), value=data.get("value"),
            weight=float(data.get("weight", 1.0)),
            threshold=None if data.get("threshold") is None else float(data["threshold"]),
            provider=data.get("provider"), metric=data.get("metric"),
            assertions=tuple(cls.from_dict(a) for a in data.get("assert") or ()),
            transform=data.get("transform"))


@dataclass(frozen=True)
class AssertionResult:
    """What one assertion found. ``score`` is in 0..1 (1 = as good as it gets); ``reason``
    says why it failed (or, for a judge, the judge's own reason either way)."""

    assertion: Assertion
    passed: bool
    score: float
    reason: str = ""
    children: tuple[AssertionResult, ...] = ()  # an assert-set's assertions, each found
    # The check could not be decided (its judge failed or refused): it fails, yet it says
    # nothing of the output, so a search that compares scores must not count it.
    undecided: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = {"assertion": self.assertion.to_dict(), "passed": self.passed,
                "score": self.score, "reason": self.reason}
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        if self.undecided:  # only when set: every decided verdict is stored as before
            data["undecided"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssertionResult:
        return cls(Assertion.from_dict(data["assertion"]), bool(data["passed"]),
                   float(data["score"]), str(data.get("reason", "")),
                   tuple(cls.from_dict(c) for c in data.get("children") or ()),
                   bool(data.get("undecided", False)))


@dataclass(frozen=True)
class CaseVerdict:
    """All assertions of one output taken together."""

    passed: bool
    score: float
    results: tuple[AssertionResult, ...] = ()
    error: str | None = None  # the output failed to generate: it fails, with this reason

    @property
    def reason(self) -> str:
        """The first failing assertion's reason (what a grid cell's badge shows)."""
        if self.error:
            return self.error
        for result in self.results:  # weight 0: a metric (a set of weight 0 still fails)
            if not result.passed and (result.assertion.weight > 0
                                      or result.assertion.type == ASSERT_SET):
                return f"{result.assertion.label}: {result.reason}".strip(": ")
        return ""

    @property
    def undecided(self) -> tuple[AssertionResult, ...]:
        """The checks that count towards the verdict and could not be decided (a metric of
        weight 0 counts for nothing): a verdict with any is no verdict on the output."""
        return _undecided(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "score": self.score, "error": self.error,
                "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseVerdict:
        return cls(bool(data["passed"]), float(data["score"]),
                   tuple(AssertionResult.from_dict(r) for r in data.get("results") or ()),
                   data.get("error"))


def combine(results: tuple[AssertionResult, ...] | list[AssertionResult],
            threshold: float | None = None) -> CaseVerdict:
    """promptfoo's rule (``AssertionsResult``): the score is the weighted mean of the
    assertions' scores; with a ``threshold`` the case passes when the score reaches it, without
    one when every assertion passes. An assertion of weight 0 is a metric: it passes whatever
    it found (promptfoo forces it to), keeps what it found as its reason, and counts nothing
    towards the score — except an assert-set, which promptfoo does not force: one of weight 0
    that fails still fails the case. No assertions: passes with score 1 (nothing was asked);
    only weight-0 ones: score 0 (promptfoo's 0 / 0)."""
    results = tuple(weighed(r) for r in results)
    total = sum(r.assertion.weight for r in results)
    if total:
        score = sum(r.assertion.weight * r.score for r in results) / total
    else:
        score = 0.0 if results else 1.0
    passed = score >= threshold if threshold is not None else all(r.passed for r in results)
    return CaseVerdict(passed=passed, score=score, results=results)


def weighed(result: AssertionResult) -> AssertionResult:
    """promptfoo's ``weight: 0``: the assertion passes (an assert-set is not forced)."""
    if result.assertion.weight == 0 and not result.passed and result.assertion.type != ASSERT_SET:
        return replace(result, passed=True)
    return result


def _undecided(results: tuple[AssertionResult, ...]) -> tuple[AssertionResult, ...]:
    found: list[AssertionResult] = []
    for result in results:
        if result.assertion.weight == 0 and result.assertion.type != ASSERT_SET:
            continue
        found.extend([result] if result.undecided else _undecided(result.children))
    return tuple(found)


def failed_output(error: str) -> CaseVerdict:
    return CaseVerdict(passed=False, score=0.0, error=error)


@dataclass(frozen=True)
class EvalResult:
    """The verdict on one stored output: one repeat of one variant on one case."""

    run_id: str
    output_id: str
    variant_id: str
    case_id: str
    repeat: int
    verdict: CaseVerdict
    id: str = field(default_factory=new_id)
    # The output is a branch of this output (forced from a token): an exploration, not a
    # sample of the variant, so pass rates leave it out (services/evaluation/pass_rates.py).
    # Not stored with the verdict: read from the output it judges.
    branch_of: str | None = None

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def score(self) -> float:
        return self.verdict.score

    @property
    def error(self) -> str | None:
        return self.verdict.error


class VerdictCell(NamedTuple):
    """A verdict without its checks: which cell it judged, and its figures. What a pass rate
    needs of each output (pass_rates.by_unit), a few dozen bytes where an EvalResult with its
    checks and reasons takes kilobytes."""

    output_id: str
    variant_id: str
    case_id: str
    repeat: int
    branch_of: str | None
    passed: bool
    score: float


@dataclass(frozen=True)
class EvalRun:
    """A comparison run that was evaluated: its repeats, the pass-rate threshold it was held
    to, the suite it came from (if any), and a summary kept for the history trend."""

    run_id: str
    suite_id: str | None = None
    repeats: int = 1
    threshold: float | None = None  # the pass rate `workbench eval --threshold` asked for
    summary: dict[str, Any] = field(default_factory=dict)  # per variant: passed, total, rate
    created_at: datetime = field(default_factory=utc_now)
