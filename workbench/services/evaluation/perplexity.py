"""``perplexity`` and ``perplexity-score``: how sure the output's own model was of the output.

promptfoo (src/assertions/perplexity.ts) takes the log-probabilities the provider returned
for the generated tokens: perplexity = exp(−mean log-probability). ``perplexity`` passes when
it is at most the threshold (no threshold: always passes) and scores 1 or 0;
``perplexity-score`` is 1 / (1 + perplexity), passes when it is at least the threshold, and
is its own score. An output without log-probabilities is an error there; here the assertion
cannot be evaluated, which fails it.

Where the log-probabilities come from: the output's stored token trace when it has one for
every token (the variant asked for them: ``logprobs`` > 0) — the tokens exactly as sampled,
which is what promptfoo reads from a provider; otherwise the output's text is scored as an
answer under the variant's model and prompt through the token inspector (teacher forcing,
as ``likelihood`` scores an expected answer). The model host computes both from the same
raw distribution (log-softmax of the logits, before temperature), so the two agree for the
same tokens; scoring needs no setting on the variant, so a promptfoo suite runs unchanged. A
remote model has no trace tokens and cannot score: there the assertion cannot be evaluated.
"""

from __future__ import annotations

import math

from ...core.errors import WorkbenchError
from ...core.evaluation import Assertion, AssertionResult
from ...core.runs import Output

PERPLEXITY_TYPES = frozenset({"perplexity", "perplexity-score"})


def perplexity_problem(assertion: Assertion) -> str | None:
    limit = assertion.threshold
    if limit is None:
        return None
    if assertion.type == "perplexity-score" and not 0 <= limit <= 1:
        return "perplexity-score: threshold is a score from 0 to 1 (1 / (1 + perplexity))"
    if limit < 0:
        return f"{assertion.name}: threshold must be 0 or more"
    return None


def output_logprobs(output: Output, inspection) -> tuple[list[float], str]:
    """The log-probability of each of the output's tokens, and where they came from."""
    trace = inspection.trace(output)
    if trace is not None and trace.tokens and all(t.logprob is not None for t in trace.tokens):
        return [t.logprob for t in trace.tokens], "as generated"
    variant = inspection.variant_of(output)
    scored = inspection.score(variant, inspection.messages_for(output, variant), output.text,
                              top_k=0)
    return [t.logprob or 0.0 for t in scored.tokens], "scored"


def perplexity_of(logprobs: list[float]) -> float:
    return math.exp(-sum(logprobs) / len(logprobs))


def perplexity_result(assertion: Assertion, output: Output, inspection) -> AssertionResult:
    if inspection is None:
        return _unusable(assertion, f"{assertion.type} needs the run's store to find the "
                                    "output's model")
    if not output.text:
        return _unusable(assertion, "the output is empty: it has no tokens to measure")
    try:
        logprobs, _ = output_logprobs(output, inspection)
    except WorkbenchError as error:
        return _unusable(assertion, f"the output's log-probabilities could not be had: {error}")
    if not logprobs:
        return _unusable(assertion, "the output has no tokens to measure")
    return measured(assertion, perplexity_of(logprobs))


def measured(assertion: Assertion, perplexity: float) -> AssertionResult:
    """promptfoo's verdict on a perplexity (the not- form flips it, as every type's here)."""
    limit = assertion.threshold
    given = limit is not None
    if assertion.type == "perplexity":
        passed = perplexity <= limit if given else True
        score = 1.0 if passed else 0.0
        found = f"perplexity {perplexity:.2f}" + (
            f" {'≤' if passed else '>'} {limit:g}" if given else "")
    else:
        value = 1.0 / (1.0 + perplexity)
        passed = value >= limit if given else True
        score = value
        found = f"perplexity score {value:.3f} (perplexity {perplexity:.2f})" + (
            f" {'≥' if passed else '<'} {limit:g}" if given else "")
    if assertion.negate:
        passed, score = not passed, 1.0 - score
    return AssertionResult(assertion, passed, score, "" if passed else found)


def _unusable(assertion: Assertion, why: str) -> AssertionResult:
    return AssertionResult(assertion, False, 0.0, why)
