"""The few-shot example pool: the user's own examples and *bootstrapped* ones — training cases
whose generated answer passed every check, the answer kept as the example's (DSPy's
BootstrapFewShot). Held-out cases never enter it: only training evaluations feed it.

The pool only grows, in a fixed order (``u0``, ``u1``, … then ``b…`` as answers pass), and is
capped, so an index the search chose once always means the same example."""

from __future__ import annotations

from collections.abc import Iterable

from ...core.cases import TestCase
from ...core.composition import example_as_raw
from ...core.prompts import FewShotExample, PromptVersion

POOL_CAP = 8


class ExamplePool:
    def __init__(self, start: PromptVersion, cap: int = POOL_CAP):
        self.template = start.user_template
        self.cap = cap
        self.examples: dict[str, FewShotExample] = {}
        for number, example in enumerate(e for e in start.examples
                                         if e.enabled and not e.is_blank):
            if len(self.examples) < cap:
                self.examples[f"u{number}"] = example_as_raw(self.template, example)

    @property
    def keys(self) -> list[str]:
        return list(self.examples)

    def add_passing(self, answers: Iterable[tuple[TestCase, str]]) -> None:
        """Training cases with an answer that passed every check, in a stable order."""
        for case, text in answers:
            key = f"b{case.position}"
            if len(self.examples) >= self.cap or key in self.examples or not text.strip():
                continue
            templated = FewShotExample.templated(dict(case.variables), text.strip())
            self.examples[key] = example_as_raw(self.template, templated)

    def pick(self, keys: Iterable[str]) -> tuple[FewShotExample, ...]:
        return tuple(self.examples[key] for key in keys if key in self.examples)
