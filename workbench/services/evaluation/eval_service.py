"""A suite run end to end: check everything up front, store the suite as a session, generate
every cell (repeats included) through the comparison engine, check and judge each output as it
arrives, judge the select-best assertions across variants, store the verdicts and a summary."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from ...core.cases import CaseSet, TestCase
from ...core.errors import WorkbenchError
from ...core.evaluation import AssertionResult, EvalResult, EvalRun, combine
from ...core.job_state import JobState, JobWatcher
from ...core.ratings import Preference
from ...core.retrieved_context import compose
from ...core.runs import Output, Run, RunStatus
from ...core.suites import Suite
from ...core.wording import counted
from ...plugins.manager import PluginManager
from ...store import Store
from .. import run_state
from ..compare import RunService
from ..inspection import InspectionService
from ..job_start import start_job
from ..models import ModelService
from ..retrieval_context import chunks_lookup, sent_variables
from .evaluator import Evaluator, JudgePool, judge_of
from .javascript import CaseVariables, prompt_text
from .preflight import case_value_problems, preflight_for
from .report import EvalReport, VariantSummary
from .run_report import report_for_run
from .suite_rerun import store_or_join
from .suite_session import SuiteInSession, providers_for, variant_specs
from .trend import summary_of

# How the evaluating listener counts its cells (done, in all, failed), once per output: the
# engine's own counter. Whoever drives a run sees it as its job's JobProgress (``cells_on``:
# run_suite, run_held and resume); improve's budget counts the cells themselves.
CellCount = Callable[[int, int, int], None]


def cells_on(job: JobState, before: int = 0, total: int | None = None) -> CellCount:
    """The cell count as ``job``'s progress: ``before`` cells already done (a resumed run),
    ``total`` cells in all (the count's own total when None), "N failed" as its message."""

    def progress(done: int, cells: int, failed: int) -> None:
        job.set_progress(before + done, cells if total is None else total,
                         f"{failed} failed" if failed else "")

    return progress


@dataclass(frozen=True)
class EvalOutcome:
    run: Run
    session_id: str
    report: EvalReport
    errors: int  # cells that failed to generate (a variant that crashed, a server down)
    status: RunStatus

    def exit_code(self, threshold: float | None = None) -> int:
        """promptfoo's convention: 0 passed (or every variant's pass rate reached
        ``threshold``), 100 below it, 1 when cells failed to generate or the run stopped."""
        if self.errors or self.status is not RunStatus.DONE:
            return 1
        return 100 if self.below(threshold) else 0

    def below(self, threshold: float | None = None) -> list[VariantSummary]:
        """The variants whose pass rate fell below ``threshold`` (None: every case must
        pass), in the report's order."""
        if threshold is None:
            return [v for v in self.report.variants if v.passed != v.total]
        return [v for v in self.report.variants if (v.rate or 0.0) < threshold]

    def exit_reasons(self, threshold: float | None = None) -> list[str]:
        """Why ``exit_code`` is not 0, one line each (none when it is 0): each variant below
        the threshold with its pass rate and the threshold, the cells that failed to generate,
        or how the run ended when it did not finish."""
        if self.errors:
            return [f"{counted(self.errors, 'cell')} failed to generate (their errors are in the "
                    "results)"]
        if self.status is not RunStatus.DONE:
            return [f"the run ended {self.status.value} before every cell was generated"]
        need = "100% (every case must pass)" if threshold is None else f"{threshold * 100:g}%"
        return [f"variant '{v.label}' passed {v.passed}/{v.total} "
                f"({_percent(v.rate)}), below the threshold of {need}"
                for v in self.below(threshold)]


def _percent(rate: float | None) -> str:
    """A rate as the report prints it; a variant with nothing evaluated has none."""
    return "no rate" if rate is None else f"{rate:.0%}"


def has_select_best(case_set: CaseSet) -> bool:
    return any(assertion.type == "select-best" for case in case_set.cases
               for assertion in case_set.assertions_for(case))


class EvaluatingListener:
    """Passes the comparison engine's events on, and checks each output as it arrives."""

    def __init__(self, evaluator: Evaluator, store: Store, case_set: CaseSet,
                 inner=None, progress: CellCount | None = None, total: int = 0):
        self.evaluator, self.store, self.case_set = evaluator, store, case_set
        self.inner, self.progress, self.total = inner, progress, total
        self.cases = {case.id: case for case in case_set.cases}
        # Only select-best compares a case's outputs once the run ends; without it nothing is
        # held per cell (the report reads the store), so memory stays flat however long the run.
        self.keeps_outputs = has_select_best(case_set)
        self.results: dict[str, EvalResult] = {}  # output id -> its verdict (if kept)
        self.outputs: dict[str, Output] = {}
        self.versions: dict = {}  # variant id -> prompt version (set once the run exists)
        # each case's variables after its transformVars: the run's cells use these
        # (RunService shares a listener's ``variables`` with the run it is given to)
        self.variables = CaseVariables()
        self.ready = threading.Event()
        self.done = self.errors = 0
        self._lock = threading.Lock()

    def cell_started(self, variant_id: str, case_id: str) -> None:
        if self.inner is not None:
            self.inner.cell_started(variant_id, case_id)

    def cell_token(self, variant_id: str, case_id: str, text: str) -> None:
        if self.inner is not None:
            self.inner.cell_token(variant_id, case_id, text)

    def cell_finished(self, output: Output) -> None:
        if self.inner is not None:
            self.inner.cell_finished(output)
        result = self._evaluate(output)
        with self._lock:
            self.done += 1
            self.errors += bool(output.error) and not output.cancelled
            self.keep(output, result)
            done, errors = self.done, self.errors
        if result is not None and self.inner is not None and hasattr(self.inner,
                                                                     "cell_evaluated"):
            self.inner.cell_evaluated(result)
        if self.progress is not None:
            self.progress(done, self.total, errors)

    def keep(self, output: Output, result: EvalResult | None) -> None:
        """Held for select-best (only when the case set has it)."""
        if not self.keeps_outputs:
            return
        self.outputs[output.id] = output
        if result is not None:
            self.results[output.id] = result

    def run_finished(self, run_id: str, status: RunStatus) -> None:
        if self.inner is not None:
            self.inner.run_finished(run_id, status)

    def cell_annotated(self, *args) -> None:
        """The plugins' flags and scores (RunService calls it when the listener has it)."""
        annotate = getattr(self.inner, "cell_annotated", None)
        if annotate is not None:
            annotate(*args)

    def question(self, output: Output, case: TestCase) -> str:
        """What the model was asked (the last user message, with the retrieved context
        its prompt held), for a judge."""
        return self.asked(output, case)[0]

    def asked(self, output: Output, case: TestCase) -> tuple[str, str]:
        """The question, and the whole prompt as promptfoo gives it to JavaScript (the text of
        a prompt of one user message, a chat's messages as JSON: javascript.prompt_text)."""
        self.ready.wait(30)
        version = self.versions.get(output.variant_id)
        if version is None:
            return "", ""
        try:
            messages = compose(version, sent_variables(self.store, output, case.variables))
        except WorkbenchError:
            return "", ""
        return messages[-1].content, prompt_text(messages)

    def as_run(self, case: TestCase) -> TestCase:
        """The case with the variables its prompts were rendered from (its transformVars)."""
        try:
            variables = self.variables.of(case)
        except WorkbenchError:
            return case  # its cells failed to generate, saying why
        return case if variables is case.variables else replace(case, variables=variables)

    def _evaluate(self, output: Output) -> EvalResult | None:
        case = self.cases.get(output.case_id or "")
        if case is None:
            return None
        case = self.as_run(case)
        try:
            verdict = self.evaluator.verdict(output, case, self.case_set,
                                             *self.asked(output, case))
        except Exception as error:  # noqa: BLE001 - a checker's bug must not end the run
            verdict = combine([])
            verdict = replace(verdict, passed=False, score=0.0,
                              error=f"Evaluation failed: {type(error).__name__}: {error}")
        if verdict is None:
            return None
        result = EvalResult(output.run_id, output.id, output.variant_id, case.id, output.repeat,
                            verdict, branch_of=output.branch_of)
        try:
            self.store.evaluations.add_results([result])
        except WorkbenchError:
            pass  # shown in the grid all the same; the report says what was stored
        return result


class EvalService:
    def __init__(self, store: Store, models: ModelService, runs: RunService,
                 plugins: PluginManager | None = None):
        self.store, self.models, self.runs, self.plugins = store, models, runs, plugins
        self.judges = JudgePool(models)

    # -- before anything runs --------------------------------------------------------------

    def check(self, suite: Suite, models: list[str] | None = None,
              model_config: dict | None = None) -> None:
        """Every reason the suite cannot run, at once, with file and line (the preflight:
        assertions with the plugins' names, the variants' models and the judges resolved —
        remote servers asked —, retrieval sets, every prompt rendered for every case)."""
        preflight_for(self).check(suite, models, model_config)

    # -- the grid's runs: the same checks, on whatever the user runs ---------------------------

    def check_cases(self, case_set: CaseSet, cases: list[TestCase] | None = None) -> None:
        """The window's preflight of its checks: one ``WorkbenchError`` naming each check
        whose value cannot be rendered for some case (the check and the cases), before
        anything is generated."""
        problems = case_value_problems(case_set, cases)
        if problems:
            raise WorkbenchError("Nothing was run. " + "\n".join(problems))

    def watch(self, case_set: CaseSet, inner, total: int = 0,
              progress: CellCount | None = None) -> EvaluatingListener:
        """A listener for ``RunService.start`` that checks each output against ``case_set``'s
        assertions as it arrives, then passes it on (``inner.cell_evaluated(EvalResult)``).
        Call ``started`` with the handle right after the run starts."""
        inspection = InspectionService(self.store, self.models, self.plugins)
        evaluator = Evaluator(self.plugins, self.judges, inspection,
                              chunks_for=chunks_lookup(self.store))
        return EvaluatingListener(evaluator, self.store, case_set, inner, progress, total)

    def started(self, listener: EvaluatingListener, handle, specs, *, repeats: int = 1,
                suite_id: str | None = None, threshold: float | None = None) -> None:
        listener.versions = {variant.id: spec.prompt_version
                             for variant, spec in zip(handle.run.variants, specs)}
        listener.ready.set()
        self.store.evaluations.add_eval_run(EvalRun(handle.run.id, suite_id, max(1, repeats),
                                                    threshold))

    def finish(self, listener: EvaluatingListener, run_id: str) -> EvalReport:
        """After the run: select-best judgements, the report, the summary for the trend.
        Blocking (judges run): call it off the GUI thread."""
        if self.store.runs.get(run_id).status is RunStatus.DONE:
            self._select_best(listener.case_set, listener)
        report = report_for_run(self.store, run_id)
        self.store.evaluations.set_summary(run_id, summary_of(report))
        return report

    def reevaluate(self, run: Run, case_set: CaseSet, versions: dict) -> list[EvalResult]:
        """Check a stored run's outputs again (after the assertions changed); the new verdicts
        replace the old. ``versions``: variant id -> prompt version (for the judge's question).
        Blocking: call it off the GUI thread."""
        listener = self.watch(case_set, None)
        listener.versions = dict(versions)
        listener.ready.set()
        results = []
        for output in self.store.runs.outputs(run.id):
            case = listener.cases.get(output.case_id or "")
            if case is None:
                continue
            case = listener.as_run(case)
            verdict = listener.evaluator.verdict(output, case, case_set,
                                                 *listener.asked(output, case))
            if verdict is None:
                continue
            result = EvalResult(run.id, output.id, output.variant_id, case.id, output.repeat,
                                verdict, branch_of=output.branch_of)
            self.store.evaluations.replace_result(result)
            listener.keep(output, result)
            results.append(result)
        if self.store.evaluations.eval_run(run.id) is None:
            self.store.evaluations.add_eval_run(EvalRun(run.id))
        self._select_best(case_set, listener)
        self.store.evaluations.set_summary(run.id, summary_of(report_for_run(self.store, run.id)))
        return [listener.results.get(r.output_id, r) for r in results]

    # -- the run ----------------------------------------------------------------------------

    def start_suite(self, suite: Suite, *, watcher: JobWatcher | None = None,
                    **options) -> JobState:
        """``run_suite(suite, **options)`` in a thread, as the job returned (its outcome the
        EvalOutcome; a cancel stops the run, which can be resumed)."""
        return start_job(f"evaluation of {suite.description or suite.source or 'a suite'}",
                         lambda job: self.run_suite(suite, job=job, **options), watcher,
                         thread_name="evaluation")

    def start_resume(self, run_id: str, *, watcher: JobWatcher | None = None,
                     **options) -> JobState:
        """``resume(run_id, **options)`` in a thread, as the job returned."""
        return start_job(f"evaluation of run {run_id[:8]}",
                         lambda job: self.resume(run_id, job=job, **options), watcher,
                         thread_name="evaluation")

    def run_suite(self, suite: Suite, *, models: list[str] | None = None,
                  model_config: dict | None = None, repeats: int = 1,
                  concurrency: int | None = None, threshold: float | None = None,
                  listener=None, yaml_text: str = "",
                  job: JobState | None = None, engine: dict | None = None) -> EvalOutcome:
        """Run the suite to the end (blocking; the GUI calls it from a background thread).
        ``job`` reports progress in cells ("N failed" as its message), takes a cancel, and
        ends with the EvalOutcome. ``engine``: LoadSettings' engine fields for every variant
        (flash_attn, cache_type_k, …; the quantization lab's engine arms)."""
        self.check(suite, models, model_config)
        providers = providers_for(suite, models, model_config)
        # a suite run again adds its run to the session of its earlier runs
        held = store_or_join(self.store, replace(suite, providers=tuple(providers)),
                             yaml_text=yaml_text)
        specs = variant_specs(suite, held.versions, providers, engine=engine)
        job = job or JobState(f"evaluation of {held.stored.name}")
        try:
            handle, _, report = self.run_held(
                held, specs, repeats=repeats, concurrency=concurrency, threshold=threshold,
                listener=listener, job=job)
            outcome = self._outcome(handle.run.id, report)
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    def _outcome(self, run_id: str, report: EvalReport) -> EvalOutcome:
        run = self.store.runs.get(run_id)
        errors = sum(1 for finish in self.store.runs.filled_cells(run_id).values()
                     if finish == "error")
        return EvalOutcome(run, run.session_id, report, errors, run.status)

    # -- an interrupted run, finished ------------------------------------------------------

    def resume(self, run_id: str, *, concurrency: int | None = None, listener=None,
               job: JobState | None = None) -> EvalOutcome:
        """Finish an interrupted (or stopped) evaluated run: only its missing cells, in the
        same run, with its variants' stored settings and seeds; outputs stored before the stop
        but never checked are checked now; then judged and reported over the whole run, as if
        it had never stopped (blocking)."""
        run_state.find_interrupted(self.store)
        run = self.store.runs.get(run_id)
        owner = run_state.improve_job_of(self.store, run_id)
        if owner is not None:
            raise WorkbenchError(
                f"Run {run_id[:8]} scored a candidate of improve job {owner[:8]} on a sample of "
                f"the cases; resuming it here would run every case. Resume the job instead: "
                f"workbench improve --resume {owner[:8]}")
        if run.status not in run_state.RESUMABLE:
            raise WorkbenchError(f"Run {run_id[:8]} is {run.status.value}: only an interrupted "
                                 "or stopped run can be resumed.")
        eval_run = self.store.evaluations.eval_run(run_id)
        repeats = eval_run.repeats if eval_run is not None else 1
        case_set = self.store.case_sets.get(run.case_set_id)
        cases = list(case_set.cases)
        specs = [run_state.spec_for(self.store, variant) for variant in run.variants]
        missing = run_state.missing_cells(self.store, run, cases, repeats)
        total = len(run_state.all_cells(run, cases, repeats))
        job = job or JobState(f"evaluation of {run.name}")
        before = total - len(missing)
        evaluating = self.watch(case_set, listener, len(missing), cells_on(job, before, total))
        try:
            self.resumed(evaluating, run, specs, repeats=repeats)
            job.set_progress(before, total, "")
            handle = self.runs.resume(run, specs, cases, missing, evaluating, repeats=repeats,
                                      concurrency=concurrency)
            job.on_cancel(handle.cancel)
            handle.wait()
            outcome = self._outcome(run_id, self.finish(evaluating, run_id))
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    def resumed(self, evaluating: EvaluatingListener, run: Run, specs, *,
                repeats: int = 1) -> None:
        """``started`` for a run that goes on (``RunService.resume``): the listener knows the
        outputs stored before the stop (select-best and the report see the whole run) and
        checks those whose verdict was never stored."""
        evaluating.versions = {variant.id: spec.prompt_version
                               for variant, spec in zip(run.variants, specs)}
        evaluating.ready.set()
        self._adopt_stored(evaluating, run.id)
        if self.store.evaluations.eval_run(run.id) is None:
            self.store.evaluations.add_eval_run(EvalRun(run.id, None, max(1, repeats)))

    def _adopt_stored(self, evaluating: EvaluatingListener, run_id: str) -> None:
        """The outputs a run stored before it stopped, with their verdicts; an output whose
        verdict was not stored yet (the process died between the two) is checked now."""
        results = {result.output_id: result for result in self.store.evaluations.results(run_id)}
        for output in self.store.runs.outputs(run_id):
            if output.cancelled or output.cell is None:
                continue
            result = results.get(output.id) or evaluating._evaluate(output)
            evaluating.keep(output, result)

    def run_held(self, held: SuiteInSession, specs, *, repeats: int = 1,
                 concurrency: int | None = None, threshold: float | None = None,
                 listener=None, job: JobState | None = None):
        """Generate ``specs`` over a stored suite's cases, each output checked as it arrives,
        then judged and summarised (blocking). ``job`` reports progress in cells ("N failed"
        as its message) and takes a cancel; it is not ended here. Returns the run's handle,
        the evaluating listener (outputs, verdicts) and the report."""
        total = len(held.case_set.cases) * len(specs) * max(1, repeats)
        evaluating = self.watch(held.case_set, listener, total,
                                cells_on(job) if job is not None else None)
        handle = self.runs.start(held.session.id, held.case_set.id, held.case_set.cases, specs,
                                 evaluating, name=held.stored.name, repeats=repeats,
                                 concurrency=concurrency)
        self.started(evaluating, handle, specs, repeats=repeats, suite_id=held.stored.id,
                     threshold=threshold)
        if job is not None:
            job.on_cancel(handle.cancel)
        handle.wait()
        return handle, evaluating, self.finish(evaluating, handle.run.id)

    def _select_best(self, case_set: CaseSet, evaluating: EvaluatingListener) -> None:
        """select-best: every two variants' outputs for the same case and repeat compared by
        the judge (each judgement stored as a preference, so the ranking uses it); an output
        passes when no other beat it."""
        groups: dict[tuple[str, int], list[Output]] = defaultdict(list)
        for output in evaluating.outputs.values():
            if output.answered and output.cell is not None:  # a branch is no contestant
                groups[(output.case_id, output.repeat)].append(output)
        for (case_id, _), outputs in groups.items():
            case = evaluating.cases[case_id]
            for assertion in case_set.assertions_for(case):
                if assertion.type != "select-best" or len(outputs) < 2:
                    continue
                reference = judge_of(assertion, case_set)
                judge = self.judges.judge(reference) if reference else None
                wins: dict[str, float] = defaultdict(float)
                beaten: dict[str, str] = {}
                outputs.sort(key=lambda o: o.variant_id)
                question = evaluating.question(outputs[0], evaluating.as_run(case))
                for a, b in itertools.combinations(outputs, 2):
                    if judge is None:
                        continue
                    grade = judge.compare(str(assertion.value), question, a.text, b.text)
                    self.store.ratings.prefer(Preference(
                        a.id, b.id, grade.winner, rater=f"judge:{reference}",
                        note=grade.reason))
                    if grade.winner == "tie":
                        wins[a.id] += 0.5
                        wins[b.id] += 0.5
                    else:
                        winner, loser = (a, b) if grade.winner == "a" else (b, a)
                        wins[winner.id] += 1
                        beaten.setdefault(loser.id, grade.reason)
                for output in outputs:
                    previous = evaluating.results.get(output.id)
                    if previous is None:
                        continue
                    passed = judge is not None and output.id not in beaten
                    reason = ("no judge model is set for it" if judge is None
                              else beaten.get(output.id, ""))
                    extra = AssertionResult(assertion, passed != assertion.negate,
                                            wins[output.id] / (len(outputs) - 1), reason)
                    verdict = combine(previous.verdict.results + (extra,),
                                      case_set.threshold_for(case))
                    updated = replace(previous, verdict=verdict)
                    evaluating.results[output.id] = updated
                    self.store.evaluations.replace_result(updated)
