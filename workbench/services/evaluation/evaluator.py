"""The verdict on one output: its case's assertions checked (judged where model-graded) and
combined. Used for every output the grid or `workbench eval` produces, as it arrives."""

from __future__ import annotations

import threading
from dataclasses import replace

from ...core.cases import CaseSet, TestCase
from ...core.errors import WorkbenchError
from ...core.evaluation import (
    ASSERT_SET,
    Assertion,
    AssertionResult,
    CaseVerdict,
    combine,
    failed_output,
)
from ...core.runs import Output
from ...core.tokens import AnswerLikelihood
from ...plugins.manager import PluginManager
from ..inspection import InspectionService
from ..models import ModelService
from .assert_set import set_result
from .check_values import CheckValueError, case_variables, rendered
from .checks import CheckContext, check
from .javascript import transformed
from .judge import Judge, rubric_result
from .perplexity import PERPLEXITY_TYPES, perplexity_result
from .similar import SIMILAR_TYPES, Similarity

JUDGE_CONTEXT = 4096


class JudgePool:
    """Judges by model reference, opened once and shared (a judge is a model like any other:
    a library GGUF, an adapter's base, or a remote server)."""

    def __init__(self, models: ModelService):
        self.models = models
        self._judges: dict[str, Judge] = {}
        self._lock = threading.Lock()

    def judge(self, reference: str) -> Judge:
        with self._lock:
            found = self._judges.get(reference)
        if found is not None:
            return found
        try:
            if self.models.is_remote(reference):
                model = self.models.open_remote(reference)
                if getattr(model, "metadata", None) is None:
                    model.start()
            else:
                model = self.models.load_named(reference, n_ctx=JUDGE_CONTEXT)
        except WorkbenchError as error:
            raise WorkbenchError(f"The judge model '{reference}' cannot be used: {error}") from None
        judge = Judge(model)
        with self._lock:
            return self._judges.setdefault(reference, judge)


def judge_of(assertion: Assertion, case_set: CaseSet) -> str | None:
    return assertion.provider or case_set.judge


class Evaluator:
    def __init__(self, plugins: PluginManager | None, judges: JudgePool | None,
                 inspection: InspectionService | None = None, chunks_for=None):
        self.plugins = plugins
        self.chunks_for = chunks_for  # output -> the retrieved chunks its prompt held (grounded)
        self.judges = judges
        # ``likelihood`` scores the case's expected answer under the output's variant (its
        # model, loaded as it ran, and its prompt) through the run's inspection service.
        self.inspection = inspection
        # One score per variant and case: repeats and re-checks share it.
        self._likelihoods: dict[tuple[str, str, str], AnswerLikelihood] = {}
        # ``similar``: embedding models opened once, the values' vectors kept (similar.py)
        models = inspection.models if inspection is not None else getattr(judges, "models",
                                                                           None)
        self.similarity = Similarity(models)

    def verdict(self, output: Output, case: TestCase, case_set: CaseSet,
                question: str = "", prompt: str = "") -> CaseVerdict | None:
        """None for an output the user stopped (neither an answer nor a failure). ``prompt``:
        what the model was sent, as promptfoo gives it to JavaScript (a chat as JSON)."""
        if output.cancelled:
            return None
        if output.error:
            return failed_output(output.error)
        context = CheckContext(text=output.text, expected=case.expected,
                               token_count=output.token_count, total_s=output.total_s,
                               tokens_per_second=output.tokens_per_second, plugins=self.plugins,
                               retrieved=(None if self.chunks_for is None
                                          else lambda: self.chunks_for(output)),
                               variables=case.variables, prompt=prompt)
        if case.options.get("transform"):  # javascript.py: promptfoo's options.transform
            try:
                context = transformed(context, case.options["transform"],
                                      {"raw": prompt, "label": prompt}, "options.transform")
            except WorkbenchError as error:
                return failed_output(f"The test's {error}")
        results = []
        for assertion in case_set.assertions_for(case):
            if assertion.type == "select-best":
                continue  # needs every variant's output: judged after the run (select_best)
            results.append(self._one(assertion, context, case, case_set, question, output))
        return combine(results, case_set.threshold_for(case))

    def _one(self, assertion: Assertion, context: CheckContext, case: TestCase,
             case_set: CaseSet, question: str, output: Output) -> AssertionResult:
        """The assertion checked with its value rendered over the case's variables
        (check_values.py); the result keeps the assertion as written, so it is reported
        under one label whatever each case made of its value."""
        if assertion.type == ASSERT_SET:  # its own are rendered one by one
            return self._checked(assertion, context, case, case_set, question, output)
        try:
            checked = rendered(assertion, case_variables(case))
        except CheckValueError as error:
            return unusable(assertion, str(error))
        result = self._checked(checked, context, case, case_set, question, output)
        return result if checked is assertion else replace(result, assertion=assertion)

    def _checked(self, assertion: Assertion, context: CheckContext, case: TestCase,
                 case_set: CaseSet, question: str, output: Output) -> AssertionResult:
        if assertion.transform:  # javascript.py: the output as this assertion checks it
            try:
                context = transformed(context, assertion.transform, {"label": context.prompt},
                                      "transform")
            except WorkbenchError as error:
                return unusable(assertion, str(error))
        if assertion.type == "likelihood":
            return self._likelihood(assertion, output, case)
        if assertion.type == ASSERT_SET:  # assert_set.py: its own, run here, as one
            return set_result(assertion, lambda child: self._one(
                child, context, case, case_set, question, output))
        if assertion.type in PERPLEXITY_TYPES:  # perplexity.py
            return perplexity_result(assertion, output, self.inspection)
        if assertion.type in SIMILAR_TYPES:  # similar.py
            return self.similarity.result(assertion, context.text)
        if not assertion.model_graded:
            return check(assertion, context)
        reference = judge_of(assertion, case_set)
        if reference is None or self.judges is None:
            return AssertionResult(assertion, False, 0.0, "no judge model is set for it")
        try:
            grade = self.judges.judge(reference).grade(
                str(assertion.value), context.text, question=question, expected=case.expected)
        except WorkbenchError as error:
            return AssertionResult(assertion, False, 0.0, f"the judge failed: {error}",
                                   undecided=True)
        return rubric_result(assertion, grade)  # it applies the not- form

    def _likelihood(self, assertion: Assertion, output: Output, case: TestCase
                    ) -> AssertionResult:
        """Passes when the expected answer's perplexity under the output's variant is at most
        the threshold; the score is 1/perplexity (1: the model was sure of every token)."""
        limit = likelihood_limit(assertion)
        if limit is None:
            return unusable(assertion, "likelihood needs a threshold: the highest perplexity "
                                       "allowed")
        if not case.expected:
            return unusable(assertion, "likelihood needs the case's expected answer "
                                       "(expected) to score")
        if self.inspection is None:
            return unusable(assertion, "likelihood needs the run's store to find its variant")
        key = (output.variant_id, case.id, case.expected)
        scored = self._likelihoods.get(key)
        if scored is None:
            try:
                variant = self.inspection.variant_of(output)
                scored = self.inspection.likelihood(variant, case, output=output)
            except WorkbenchError as error:  # the variant's model failed: not the answer's
                return replace(unusable(assertion, "the expected answer could not be scored: "
                                                   f"{error}"), undecided=True)
            self._likelihoods[key] = scored
        return likelihood_result(assertion, scored, limit)


def likelihood_limit(assertion: Assertion) -> float | None:
    """The highest perplexity allowed: the threshold, or a number given as the value."""
    for candidate in (assertion.threshold, assertion.value):
        if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
            return float(candidate)
    return None


def likelihood_result(assertion: Assertion, scored: AnswerLikelihood, limit: float
                      ) -> AssertionResult:
    """"perplexity 7.3 > 5.0 (least likely: 'Paris' 0.02)": true of the answer either way, the
    reason whenever the assertion (or its not- form) fails."""
    perplexity = scored.perplexity
    within = perplexity <= limit
    found = f"perplexity {perplexity:.1f} {'≤' if within else '>'} {limit:.1f}"
    least = scored.least_likely(1)
    if least and least[0][1].probability is not None:
        token = least[0][1]
        found += f" (least likely: {_quoted(token.text)} {token.probability:.2f})"
    score = 1.0 / perplexity if perplexity > 0 else 0.0
    passed = within != assertion.negate
    return AssertionResult(assertion, passed, 1.0 - score if assertion.negate else score,
                           "" if passed else found)


def _quoted(text: str) -> str:
    return repr(text.strip() or text)


def unusable(assertion: Assertion, why: str) -> AssertionResult:
    """An assertion that could not be evaluated fails in both its forms ("unknown" is never a
    pass), as checks.py does."""
    return AssertionResult(assertion, False, 0.0, why)
