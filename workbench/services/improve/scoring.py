"""Candidates scored on a set of cases: one evaluated run of the session per call (each
candidate a variant, labelled with its slot), through the evaluation lab's own path — the same
checks, stored runs and verdicts as any run in the grid.

Each candidate's evaluation is recorded with the run's id as soon as the run starts, so a
killed job's resume finishes that very run (only its missing cells) instead of paying for it
twice. A cell that failed to generate fails the job: a dead server must not steer the search
by scoring zero. So does a verdict one of whose checks could not be decided (a judge that is
dead, refused the request or was cut off): it would count as a failed check otherwise. A
failed job resumes: the evaluation the fault spoiled runs again in a new run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ...core.cases import CaseSet, TestCase
from ...core.errors import WorkbenchError
from ...core.improve import Candidate, Evaluation
from ...core.job_state import JobState
from ...core.prompts import PromptVersion
from ...core.runs import RunStatus
from .. import run_state
from ..evaluation.eval_service import EvalService
from .candidates import spec
from .proposer import Failure
from .request import ImproveRequest


class Stopped(Exception):
    """The job was cancelled (or its minutes ran out) while an evaluation ran."""


@dataclass(frozen=True)
class Units:
    """Per candidate slot: (case id, repeat) -> passed, for every unit with a verdict."""

    passed: dict[str, dict[tuple[str, int], bool]]


class Scorer:
    def __init__(self, evaluation: EvalService, case_set: CaseSet, request: ImproveRequest,
                 job: JobState, job_id: str,
                 on_cells: Callable[[int], None] | None = None):
        self.evaluation, self.store = evaluation, evaluation.store
        self.case_set, self.request, self.job, self.job_id = case_set, request, job, job_id
        self.cases = {case.id: case for case in case_set.cases}
        self.on_cells = on_cells  # cells generated, as they finish (the live budget count)

    # -- scoring ---------------------------------------------------------------------------

    def score(self, candidates: Sequence[Candidate], versions: dict[str, PromptVersion],
              stage: str, rung: int, case_ids: Sequence[str], repeats: int,
              name: str) -> list[Candidate]:
        """Every candidate with a finished evaluation of ``stage``/``rung`` on ``case_ids``
        (stored ones reused, a started run finished, the rest generated in one new run)."""
        result = {c.id: c for c in candidates}
        unfinished_runs = {e.run_id: e.case_ids for c in candidates
                           if (e := c.evaluation(stage, rung)) is not None and not e.done
                           and e.run_id}
        spoiled = {run_id for run_id in unfinished_runs if self._spoiled(run_id)}
        for candidate in candidates:
            evaluation = candidate.evaluation(stage, rung)
            if evaluation is not None and evaluation.run_id in spoiled:
                result[candidate.id] = candidate.without_evaluation(stage, rung)
                unfinished_runs.pop(evaluation.run_id, None)
        for run_id, run_cases in sorted(unfinished_runs.items()):
            self._finish_run(run_id, run_cases, repeats)
            for candidate in candidates:
                current = result[candidate.id]
                evaluation = current.evaluation(stage, rung)
                if evaluation is not None and evaluation.run_id == run_id:
                    result[candidate.id] = self._record(current, evaluation, repeats)
        pending = [result[c.id] for c in candidates
                   if result[c.id].evaluation(stage, rung) is None]
        if pending:
            for candidate in self._run(pending, versions, stage, rung, case_ids, repeats, name):
                result[candidate.id] = candidate
        return [result[c.id] for c in candidates]

    def _run(self, candidates: list[Candidate], versions: dict[str, PromptVersion],
             stage: str, rung: int, case_ids: Sequence[str], repeats: int,
             name: str) -> list[Candidate]:
        if self.job.cancelled:
            raise Stopped()
        cases = [self.cases[case_id] for case_id in case_ids]
        specs = [spec(c.slot, versions[c.id], c.settings, self.request) for c in candidates]
        total = len(cases) * len(specs) * repeats
        evaluating = self.evaluation.watch(self.case_set, None, total,
                                           progress=self._progress_hook())
        handle = self.evaluation.runs.start(
            self.case_set.session_id, self.case_set.id, cases, specs, evaluating, name=name,
            repeats=repeats, concurrency=self.request.concurrency)
        self.evaluation.started(evaluating, handle, specs, repeats=repeats)
        started = []
        for candidate in candidates:
            evaluation = Evaluation(stage, rung, tuple(case_ids), handle.run.id,
                                    generations=len(cases) * repeats)
            started.append(self.store.improve.record_evaluation(candidate, evaluation))
        self.job.on_cancel(handle.cancel)
        handle.wait()
        self.evaluation.finish(evaluating, handle.run.id)
        return [self._record(c, c.evaluation(stage, rung), repeats) for c in started]

    def _progress_hook(self):
        last = {"done": 0}

        def progress(done: int, _total: int, _failed: int) -> None:
            if self.on_cells is not None and done > last["done"]:
                self.on_cells(done - last["done"])
                last["done"] = done

        return progress

    def _finish_run(self, run_id: str, case_ids: Sequence[str], repeats: int) -> None:
        """A run a killed (or stopped) job left half-done: only its missing cells, and only
        of its own cases. (``EvalService.resume`` would fill the whole case set: the held-out
        cases too.)"""
        run_state.find_interrupted(self.store)
        run = self.store.runs.get(run_id)
        if run.status not in run_state.RESUMABLE:
            return
        if self.job.cancelled:
            raise Stopped()
        cases = [self.cases[case_id] for case_id in case_ids]
        specs = [run_state.spec_for(self.store, variant) for variant in run.variants]
        missing = run_state.missing_cells(self.store, run, cases, repeats)
        evaluating = self.evaluation.watch(self.case_set, None, len(missing),
                                           progress=self._progress_hook())
        self.evaluation.resumed(evaluating, run, specs, repeats=repeats)
        handle = self.evaluation.runs.resume(run, specs, cases, missing, evaluating,
                                             repeats=repeats,
                                             concurrency=self.request.concurrency)
        self.job.on_cancel(handle.cancel)
        handle.wait()
        self.evaluation.finish(evaluating, run_id)

    def _record(self, candidate: Candidate, evaluation: Evaluation,
                repeats: int) -> Candidate:
        """The run's verdicts for this candidate, stored; a stopped run raises Stopped, one
        with cells that failed to generate raises WorkbenchError."""
        run = self.store.runs.get(evaluation.run_id)
        if run.status is RunStatus.CANCELLED or self.job.cancelled:
            raise Stopped()
        # only the evaluation's own cells count (a run resumed elsewhere, e.g. by
        # `workbench eval --resume`, may have been filled with the whole case set)
        own = set(evaluation.case_ids)
        units = {key: passed for key, passed
                 in self.units(evaluation.run_id).passed.get(candidate.slot, {}).items()
                 if key[0] in own and key[1] < repeats}
        errors = self._errors(evaluation.run_id, candidate.slot)
        if errors:
            raise WorkbenchError(f"{len(errors)} cell(s) of candidate {candidate.slot} failed to "
                                 f"generate, so it cannot be scored: {errors[0]}")
        undecided = self._undecided(evaluation.run_id, candidate.slot, own, repeats)
        if undecided:
            raise WorkbenchError(f"{len(undecided)} verdict(s) of candidate {candidate.slot} "
                                 f"could not be decided, so it cannot be scored: "
                                 f"{undecided[0]}")
        if run.status is not RunStatus.DONE:
            raise WorkbenchError(f"The evaluation run {run.id[:8]} of candidate "
                                 f"{candidate.slot} ended {run.status.value}.")
        done = replace(evaluation, passed=sum(units.values()),
                       total=len(evaluation.case_ids) * repeats, done=True)
        return self.store.improve.record_evaluation(candidate, done)

    # -- reading a stored run ------------------------------------------------------------------

    def units(self, run_id: str) -> Units:
        run = self.store.runs.get(run_id)
        labels = {variant.id: variant.label for variant in run.variants}
        passed: dict[str, dict[tuple[str, int], bool]] = {}
        for result in self.store.evaluations.results(run_id):
            if result.branch_of is not None:
                continue
            slot = labels.get(result.variant_id)
            if slot is not None:
                passed.setdefault(slot, {})[(result.case_id, result.repeat)] = \
                    result.verdict.passed
        return Units(passed)

    def _spoiled(self, run_id: str) -> bool:
        """A run a failed job left: a cell that failed to generate, or a verdict with a
        check that could not be decided. Its unscored evaluations run again in a new run
        (finishing it would keep the fault's cells; they are what failed the job)."""
        run = self.store.runs.get(run_id)
        if any(output.error and not output.cancelled
               for output in self.store.runs.outputs(run_id)):
            return True
        return run.status is RunStatus.FAILED or any(
            result.verdict.undecided for result in self.store.evaluations.results(run_id)
            if result.branch_of is None)

    def _errors(self, run_id: str, slot: str) -> list[str]:
        run = self.store.runs.get(run_id)
        variant_ids = {v.id for v in run.variants if v.label == slot}
        return [output.error for output in self.store.runs.outputs(run_id)
                if output.variant_id in variant_ids and output.error and not output.cancelled]

    def _undecided(self, run_id: str, slot: str, case_ids: set[str],
                   repeats: int) -> list[str]:
        """Why each of the slot's verdicts (its own cells) has a check that could not be
        decided: the first such check's reason, one per verdict."""
        run = self.store.runs.get(run_id)
        variant_ids = {v.id for v in run.variants if v.label == slot}
        return [f"{check.assertion.label}: {check.reason}"
                for result in self.store.evaluations.results(run_id)
                if result.variant_id in variant_ids and result.branch_of is None
                and result.case_id in case_ids and result.repeat < repeats
                for check in result.verdict.undecided[:1]]

    def answers(self, candidate: Candidate, evaluation: Evaluation
                ) -> list[tuple[TestCase, str, bool, str]]:
        """(case, answer, passed, why it failed) for each of the candidate's answers in the
        evaluation's run (its first repeat), in case order."""
        run = self.store.runs.get(evaluation.run_id)
        variant_ids = {v.id for v in run.variants if v.label == candidate.slot}
        verdicts = {r.output_id: r.verdict for r in self.store.evaluations.results(run.id)}
        found = []
        for output in self.store.runs.outputs(run.id):
            if (output.variant_id not in variant_ids or output.repeat != 0
                    or output.case_id not in self.cases or output.id not in verdicts):
                continue
            verdict = verdicts[output.id]
            reason = verdict.error or next(
                (f"{r.assertion.name}: {r.reason}" if r.reason else r.assertion.name
                 for r in verdict.results if not r.passed), "")
            found.append((self.cases[output.case_id], output.text, verdict.passed, reason))
        return sorted(found, key=lambda item: item[0].position)

    def failures(self, candidate: Candidate, limit: int = 3) -> list[Failure]:
        evaluation = candidate.training()
        if evaluation is None:
            return []
        wrong = [item for item in self.answers(candidate, evaluation) if not item[2]]
        return [Failure(question=_question(case), answer=text, expected=case.expected,
                        reason=reason) for case, text, _, reason in wrong[:limit]]


def _question(case: TestCase) -> str:
    values = [value for value in case.variables.values() if value.strip()]
    return " | ".join(values)
