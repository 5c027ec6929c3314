"""``ImproveService``: an improve job started, resumed, cancelled, listed and adopted (the API
the window's dialog and ``workbench improve`` use; see the package's docstring).

A job is one JobState. While a process works on it, it holds the job's lease (a lock file the
OS frees however the process ends), so a job stored as running with a free lease was
interrupted, and ``resume`` replays it from the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from ...core.cases import CaseSet, TestCase
from ...core.errors import NotFoundError, WorkbenchError, sentence
from ...core.improve import (
    CANCELLED,
    DONE,
    FAILED,
    HELD_OUT,
    INTERRUPTED,
    RESUMABLE,
    RUNNING,
    Candidate,
    ImproveJob,
)
from ...core.job_state import JobState, JobWatcher
from ...core.prompts import Prompt, PromptVersion
from ...core.sampling import SamplingSettings
from .. import run_lease
from ..evaluation.eval_service import EvalService
from ..evaluation.preflight import preflight_for
from ..job_start import start_job
from .evidence import Evidence, weigh
from .proposer import Proposer
from .request import ImproveRequest
from .results import ImproveOutcome, ImproveProgress, PlotPoint, Spent, Split
from .scoring import Scorer, Stopped
from .search import Search, SearchContext, monotonic_clock
from .split import split_cases


class ImproveService:
    def __init__(self, evaluation: EvalService):
        self.evaluation = evaluation
        self.store, self.models = evaluation.store, evaluation.models

    # -- starting and resuming ----------------------------------------------------------------

    def start(self, request: ImproveRequest, watcher: JobWatcher | None = None) -> JobState:
        """Create the job and work on it in a background thread; the job's outcome is the
        ImproveOutcome. A request that cannot run (bad budget, too few checked cases) raises
        here, before any thread."""
        return self.start_work(self.create(request).id, watcher)

    def resume(self, job_id: str | None = None, watcher: JobWatcher | None = None) -> JobState:
        """Go on with an interrupted, cancelled or failed job (None: the newest) in a
        background thread, once its models answer (``to_resume``)."""
        return self.start_work(self.to_resume(job_id).id, watcher)

    def start_work(self, job_id: str, watcher: JobWatcher | None = None) -> JobState:
        """Work on a stored job (just ``create``d, or one ``to_resume``) in a background
        thread, as the JobState returned: ``work`` to its end."""
        return start_job(f"improve {job_id[:8]}", lambda job: self.work(job_id, job), watcher,
                         thread_name="improve")

    def create(self, request: ImproveRequest) -> ImproveJob:
        """Store a new job (its split made, seeded) without starting it."""
        request = request.validate()
        self.check_models(request)
        start, case_set = self._start_of(request)
        cases = checked_cases(case_set)
        split = split_cases(cases, request.held_out_fraction, request.seed)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        with self.store.transaction():
            line = self.store.prompts.add_prompt(Prompt(request.session_id,
                                                        f"improve {stamp}"))
            record = self.store.improve.add_job(ImproveJob(
                request.session_id, start.id, request.to_dict(),
                split={**split.to_dict(), "prompt_id": line.id}))
        return record

    def check_models(self, request: ImproveRequest) -> None:
        """The models the job will call (the target; the proposer when instructions may
        change), asked before anything is stored or run: a server that does not answer, a
        file that is not there is one message naming each, never a job failed at its first
        cell."""
        preflight = preflight_for(self.evaluation)
        wanted = {"target": request.target_model}
        if request.allowed.instruction and request.proposer_model not in (
                None, request.target_model):
            wanted["proposer"] = request.proposer_model
        problems = [f"the {role} model {reference} cannot be used: {sentence(problem)}"
                    for role, reference in wanted.items()
                    if reference and (problem := preflight.model_problem(reference))]
        if problems:
            raise WorkbenchError("Nothing was started: " + " ".join(problems))

    def to_resume(self, job_id: str | None) -> ImproveJob:
        """The job ``resume`` (and ``workbench improve --resume``) goes on with (None: the
        newest interrupted, cancelled or failed), once its models answer."""
        record = self._resumable_record(job_id)
        self.check_models(ImproveRequest.from_dict(record.request))
        return record

    def _resumable_record(self, job_id: str | None) -> ImproveJob:
        if job_id is None:
            found = self.resumable()
            if not found:
                raise WorkbenchError("No interrupted, cancelled or failed improve job to "
                                     "resume.")
            return found[0]
        record = self.find(job_id)
        if record.status not in RESUMABLE:
            raise WorkbenchError(f"The improve job {record.id[:8]} is {record.status}: only an "
                                 "interrupted, cancelled or failed one can be resumed.")
        return record

    # -- the work ---------------------------------------------------------------------------

    def work(self, job_id: str, job: JobState) -> ImproveOutcome | None:
        """Work on a stored job to its end (blocking): the search, then the held-out
        comparison. Holds the job's lease meanwhile. A cancel ends it ``cancelled`` with the
        outcome so far (None if not even the start was stored)."""
        lease = lease_name(job_id)
        try:
            run_lease.hold(self.store.db.path, lease)
        except WorkbenchError as error:
            job.fail(str(error))
            raise
        try:
            record = self.store.improve.update_job(job_id, status=RUNNING, error=None)
            outcome = self._work(record, job)
        except Stopped:
            self.store.improve.update_job(job_id, status=CANCELLED)
            try:
                outcome = self.outcome(job_id)
            except WorkbenchError:
                outcome = None  # stopped before its first candidate was stored
            job.finish(outcome)
            return outcome
        except BaseException as error:
            message = str(error) or type(error).__name__
            try:
                self.store.improve.update_job(job_id, status=FAILED, error=message)
            except WorkbenchError:
                pass
            job.fail(message)
            raise
        finally:
            run_lease.release(self.store.db.path, lease)
        job.finish(outcome)
        return outcome

    def _work(self, record: ImproveJob, job: JobState) -> ImproveOutcome:
        request = ImproveRequest.from_dict(record.request)
        split = Split.from_dict(record.split)
        case_set = self._case_set(record.session_id)
        start = self.store.prompts.version(record.start_version_id)
        clock = monotonic_clock(record.elapsed_s)
        held_repeats = 1 if request.greedy else max(1, request.held_out_repeats)
        reserved = 2 * len(split.held_out) * held_repeats
        budget = request.budget_generations - reserved
        if budget < len(split.training):
            raise WorkbenchError(
                f"A budget of {request.budget_generations} generations is too small: the "
                f"held-out comparison takes {reserved} and scoring the start on the "
                f"{len(split.training)} training cases {len(split.training)}; give at least "
                f"{reserved + 4 * len(split.training)}.")
        live = {"cells": 0}
        history: list[PlotPoint] = []

        def cells(count: int) -> None:
            live["cells"] += count
            job.set_progress(min(live["cells"], request.budget_generations),
                             request.budget_generations, "searching")

        scorer = Scorer(self.evaluation, case_set, request, job, record.id, on_cells=cells)
        proposer = (Proposer(self.models, request.proposer_model or request.target_model,
                             n_ctx=request.n_ctx) if request.allowed.instruction else None)

        def scored(candidate: Candidate, best: Candidate, round_number: int,
                   spent: int) -> None:
            live["cells"] = spent
            training = best.training()
            point = PlotPoint(spent, None if training is None else training.rate)
            history.append(point)
            self.store.improve.update_job(record.id, elapsed_s=clock())
            job.set_progress(spent, request.budget_generations,
                             f"round {round_number} · best {_percent(point.training_rate)}")
            job.add_partial(ImproveProgress("searching", spent, request.budget_generations,
                                            round_number, candidate, best, point))

        search = Search(SearchContext(
            self.store, scorer, proposer, request, record.id, record.split["prompt_id"], start,
            split.training, budget, clock, scored))
        first, best = search.run()
        if job.cancelled:
            raise Stopped()
        job.set_progress(search.spent, request.budget_generations, "held-out comparison")
        scored_out = scorer.score(
            [first] if best.id == first.id else [first, best], search.versions, HELD_OUT, 0,
            split.held_out, held_repeats, name=f"improve {record.id[:8]} · held-out")
        first, best = scored_out[0], scored_out[-1]
        evidence = self._evidence(scorer, first, best, split, held_repeats)
        held_generations = sum(e.generations for c in scored_out for e in c.evaluations
                               if e.stage == HELD_OUT)
        spent = Spent(search.spent, held_generations,
                      proposer.calls if proposer else 0, clock())
        end = PlotPoint(search.spent + held_generations,
                        None if best.training() is None else best.training().rate,
                        evidence.winner_rate)
        history.append(end)
        result = {**self.store.improve.job(record.id).result, "evidence": evidence.to_dict(),
                  "start_id": first.id, "best_id": best.id, "spent": spent.to_dict(),
                  "history": [p.to_dict() for p in history],
                  "held_out_repeats": held_repeats}
        record = self.store.improve.update_job(record.id, status=DONE, result=result,
                                               elapsed_s=clock())
        job.add_partial(ImproveProgress("done", spent.generations, request.budget_generations,
                                        -1, best, best, end))
        return ImproveOutcome(record, first, best, evidence,
                              tuple(self.store.improve.candidates(record.id)), split, spent,
                              tuple(history))

    def _evidence(self, scorer: Scorer, start: Candidate, best: Candidate, split: Split,
                  repeats: int) -> Evidence:
        """Paired units (held-out case × repeat): the start's verdict and the winner's."""
        units = scorer.units(start.held_out().run_id).passed
        start_units = units.get(start.slot, {})
        best_units = units.get(best.slot, start_units)
        keys = [(case_id, repeat) for case_id in split.held_out for repeat in range(repeats)]
        return weigh([start_units.get(key, False) for key in keys],
                     [best_units.get(key, False) for key in keys])

    # -- reading ------------------------------------------------------------------------------

    def find(self, job_id: str) -> ImproveJob:
        """A job by id or the first characters of it, with its status as the user should
        see it (running with a free lease: interrupted)."""
        matches = [job for job in self.store.improve.jobs() if job.id.startswith(job_id)]
        if len(matches) != 1:
            raise NotFoundError(f"No improve job {job_id}." if not matches else
                                f"{len(matches)} improve jobs start with {job_id}; give more.")
        return self._as_seen(matches[0])

    def jobs(self, session_id: str | None = None) -> list[ImproveJob]:
        """Newest first, with their status as the user should see it."""
        return [self._as_seen(job) for job in self.store.improve.jobs(session_id)]

    def resumable(self, session_id: str | None = None) -> list[ImproveJob]:
        return [job for job in self.jobs(session_id) if job.status in RESUMABLE]

    def _as_seen(self, job: ImproveJob) -> ImproveJob:
        if job.status == RUNNING and not run_lease.is_alive(self.store.db.path,
                                                            lease_name(job.id)):
            return replace(job, status=INTERRUPTED)
        return job

    def candidates(self, job_id: str) -> list[Candidate]:
        return self.store.improve.candidates(job_id)

    def history(self, job_id: str) -> list[PlotPoint]:
        """The live plot's points, from the store (a finished job's, or rebuilt so far)."""
        job = self.store.improve.job(job_id)
        if "history" in job.result:
            return [PlotPoint(**point) for point in job.result["history"]]
        points, spent, best = [], 0, -1.0
        for candidate in self.candidates(job_id):
            for evaluation in candidate.evaluations:
                if evaluation.stage != HELD_OUT and evaluation.done:
                    spent += evaluation.generations
            training = candidate.training()
            if training is not None and training.rate is not None and (
                    training.case_ids == tuple(Split.from_dict(job.split).training)):
                best = max(best, training.rate)
            points.append(PlotPoint(spent, best if best >= 0 else None))
        return points

    def outcome(self, job_id: str) -> ImproveOutcome:
        """What a stored job came to (evidence None until its held-out comparison is done)."""
        job = self._as_seen(self.store.improve.job(job_id))
        candidates = tuple(self.store.improve.candidates(job_id))
        if not candidates:
            raise WorkbenchError(f"The improve job {job_id[:8]} has no candidates yet.")
        by_id = {c.id: c for c in candidates}
        start = by_id.get(job.result.get("start_id"), candidates[0])
        best = by_id.get(job.result.get("best_id")) or _best_on_training(candidates, job)
        evidence = (Evidence.from_dict(job.result["evidence"])
                    if "evidence" in job.result else None)
        spent = Spent(**{k: v for k, v in job.result.get("spent", {}).items()
                         if k in ("search_generations", "held_out_generations",
                                  "proposer_calls", "wall_s")})
        return ImproveOutcome(job, start, best, evidence, candidates,
                              Split.from_dict(job.split), spent,
                              tuple(self.history(job_id)))

    # -- "Use this version" -------------------------------------------------------------------

    def adopt(self, job_id: str, candidate_id: str | None = None
              ) -> tuple[PromptVersion, SamplingSettings]:
        """The winner (or ``candidate_id``) saved as the newest version of the session's
        first prompt, with the sampling it ran with. Without ``candidate_id`` only a
        significant winner is adopted."""
        outcome = self.outcome(job_id)
        if candidate_id is None:
            if outcome.winner is None:
                raise WorkbenchError(f"The improve job {job_id[:8]} found no significant "
                                     "improvement; name a candidate to use one anyway.")
            chosen = outcome.winner
        else:
            chosen = next((c for c in outcome.candidates if c.id == candidate_id), None)
            if chosen is None:
                raise NotFoundError(f"No candidate {candidate_id} in job {job_id[:8]}.")
        version = self.store.prompts.version(chosen.version_id)
        line = self.store.prompts.prompts(outcome.job.session_id)[0]
        request = ImproveRequest.from_dict(outcome.job.request)
        adopted = self.store.prompts.save_version(PromptVersion(
            line.id, version.system_prompt, version.examples, version.user_template,
            parent_id=version.id, note=f"improve {job_id[:8]}: {chosen.slot} adopted"))
        sampling = request.target_sampling
        if chosen.settings.temperature is not None:
            sampling = sampling.with_sent(temperature=chosen.settings.temperature)
        return adopted, sampling

    # -- the session's parts -------------------------------------------------------------------

    def _start_of(self, request: ImproveRequest) -> tuple[PromptVersion, CaseSet]:
        prompts = self.store.prompts.prompts(request.session_id)
        if not prompts:
            raise WorkbenchError("The session has no prompt to improve.")
        if request.version_id:
            start = self.store.prompts.version(request.version_id)
        else:
            history = self.store.prompts.history(prompts[0].id)
            if not history:
                raise WorkbenchError("The session's prompt has no saved version to start "
                                     "from; save one first.")
            start = history[-1]
        return start, self._case_set(request.session_id)

    def _case_set(self, session_id: str) -> CaseSet:
        sets = self.store.case_sets.for_session(session_id)
        if not sets:
            raise WorkbenchError("The session has no test cases.")
        return sets[0]


def checked_cases(case_set: CaseSet) -> list[TestCase]:
    """The cases with at least one check: only they can say pass or fail."""
    cases = [case for case in case_set.cases if case_set.assertions_for(case)]
    if len(cases) < len(case_set.cases) and len(cases) < 4:
        raise WorkbenchError(f"Only {len(cases)} of the {len(case_set.cases)} cases have "
                             "checks; improve needs checked cases (give them assertions).")
    return cases


def lease_name(job_id: str) -> str:
    return f"improve-{job_id}"


def _best_on_training(candidates, job: ImproveJob) -> Candidate:
    training = tuple(Split.from_dict(job.split).training)
    full = [c for c in candidates if c.training() is not None
            and c.training().case_ids == training]
    return max(full, key=lambda c: (c.training().rate or 0.0, -c.position),
               default=candidates[0])


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


ProgressCallback = Callable[[ImproveProgress], None]
