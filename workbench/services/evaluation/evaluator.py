"""The verdict on one output: its case's assertions checked (judged where model-graded) and
combined. Used for every output the grid or `workbench eval` produces, as it arrives."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ...core.cases import CaseSet, TestCase
from ...core.errors import WorkbenchError
from ...core.evaluation import (Assertion, AssertionResult, CaseVerdict, combine,
                                failed_output)
from ...core.runs import Output
from ...plugins.manager import PluginManager
from ..models import ModelService
from .checks import CheckContext, check
from .judge import Judge, rubric_result

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

    def check(self, references: Iterable[str]) -> None:
        """Fail up front, before any generation, when a judge cannot be found."""
        for reference in sorted(set(references)):
            if self.models.is_remote(reference):
                continue  # opened (and its server asked) when the first judgement is due
            try:
                self.models.resolve(reference)
            except WorkbenchError as error:
                raise WorkbenchError(
                    f"The judge model '{reference}' cannot be used: {error}") from None


def judge_of(assertion: Assertion, case_set: CaseSet) -> str | None:
    return assertion.provider or case_set.judge


class Evaluator:
    def __init__(self, plugins: PluginManager | None, judges: JudgePool | None):
        self.plugins = plugins
        self.judges = judges

    def verdict(self, output: Output, case: TestCase, case_set: CaseSet,
                question: str = "") -> CaseVerdict | None:
        """None for an output the user stopped (neither an answer nor a failure)."""
        if output.cancelled:
            return None
        if output.error:
            return failed_output(output.error)
        context = CheckContext(text=output.text, expected=case.expected,
                               token_count=output.token_count, total_s=output.total_s,
                               tokens_per_second=output.tokens_per_second, plugins=self.plugins)
        results = []
        for assertion in case_set.assertions_for(case):
            if assertion.type == "select-best":
                continue  # needs every variant's output: judged after the run (select_best)
            results.append(self._one(assertion, context, case, case_set, question))
        return combine(results, case_set.threshold_for(case))

    def _one(self, assertion: Assertion, context: CheckContext, case: TestCase,
             case_set: CaseSet, question: str) -> AssertionResult:
        if not assertion.model_graded:
            return check(assertion, context)
        reference = judge_of(assertion, case_set)
        if reference is None or self.judges is None:
            return AssertionResult(assertion, False, 0.0, "no judge model is set for it")
        try:
            grade = self.judges.judge(reference).grade(
                str(assertion.value), context.text, question=question, expected=case.expected)
        except WorkbenchError as error:
            return AssertionResult(assertion, False, 0.0, f"the judge failed: {error}")
        return rubric_result(assertion, grade)  # it applies the not- form
