"""Where a suite's run here deliberately differs from the same suite under promptfoo.

A promptfoo suite runs unchanged, and where both tools run it they should agree: the scoring
rule (weights, weight 0, thresholds, assert-sets), CSV shorthands and their default
thresholds, prompt files, empty variables follow promptfoo's code. Where this app chooses
otherwise — on purpose, because promptfoo's behaviour depends on a hosted service or reads
a provider's structured answer this app does not have — the run says so once, one note per
difference the suite actually meets (``workbench eval`` prints them before it starts).
"""

from __future__ import annotations

from collections.abc import Callable

from ...core.evaluation import Assertion
from ...core.suites import Suite
from .assert_set import flat
from .perplexity import PERPLEXITY_TYPES
from .similar import SIMILAR_TYPES

Rule = tuple[Callable[[Assertion], bool], str]

RULES: tuple[Rule, ...] = (
    (lambda a: a.type in ("equals", "levenshtein", "starts-with"),
     "equals, levenshtein and starts-with ignore whitespace around the output (and around "
     "the value); promptfoo compares the text exactly as generated."),
    (lambda a: a.type in ("levenshtein", "contains-all", "icontains-all"),
     "levenshtein, contains-all and icontains-all score in between here (the normalised "
     "similarity; the share of values found); promptfoo scores them 1 or 0, which counts "
     "where a threshold weighs the scores."),
    (lambda a: a.type in SIMILAR_TYPES and not a.provider,
     "similar embeds with the bundled SmolLM2 model (mean-pooled) where it names no "
     "provider; promptfoo's default is OpenAI's text-embedding-3-large, so the same "
     "threshold is not the same bar."),
    (lambda a: a.type in PERPLEXITY_TYPES,
     "perplexity uses the log-probabilities of the output's tokens as generated when the "
     "variant asked for them (logprobs), else scores the output under its prompt; promptfoo "
     "needs a provider that returns them."),
    (lambda a: a.type == "cost",
     "cost is not measured (local models cost nothing, and no backend here reports one): a "
     "cost assertion passes unchecked; promptfoo refuses it for a provider without costs."),
    (lambda a: a.type == "is-valid-openai-tools-call",
     "is-valid-openai-tools-call reads the output's text as the tool calls and takes the "
     "tools from its value; promptfoo reads the provider's tool_calls and config.tools."),
    (lambda a: a.type == "javascript",  # javascript.py
     "javascript runs in a sandbox (no require, process, fetch, files or timers; 1 s of CPU "
     "and 128 MB per call), keeps a returned number's score to 0..1 and inverts it for "
     "not-javascript; promptfoo runs it in Node with its full rights and keeps the number."),
    (lambda a: a.type == "is-valid-openai-tools-call" and a.value is None,
     "is-valid-openai-tools-call without tools in its value checks only the calls' shape."),
)


def promptfoo_notes(suite: Suite) -> list[str]:
    """One sentence per deliberate difference this suite meets, in a fixed order."""
    assertions = list(flat(suite.default_assertions))
    for test in suite.tests:
        assertions += flat(test.assertions)
    return [note for applies, note in RULES if any(applies(a) for a in assertions)]
