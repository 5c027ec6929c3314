"""The search: rounds of proposals from the best candidate so far, each round's proposals
raced by successive halving on the training cases.

A round proposes
- instruction rewrites (the proposer, from the best candidate's failures), and
- settings trials: Optuna's TPE (seeded) chooses how many examples, which and in what order
  from the pool, and the settings the request allows (temperature, system prompt on/off,
  answer-format line), keeping the best candidate's instruction.

Successive halving: every proposal answers the round's smallest sample of training cases, the
best third go on to a sample twice as big, and so on up to every training case; a proposal
that beats the best candidate there becomes the new best. Samples are nested and shared by the
round's proposals, so they are compared on the same cases.

Everything is seeded and every step is stored (candidates by slot, evaluations by run), so a
resumed search replays the same path: a stored candidate or evaluation is taken, not made
again, and Optuna is told the same results in the same order. The held-out cases never reach
this module: it is given the training ids only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...core.improve import TRAINING, Candidate, CandidateSettings
from ...core.prompts import PromptVersion
from ...store import Store
from .bootstrap import POOL_CAP, ExamplePool
from .candidates import describe_change, render, start_settings
from .proposer import Proposer
from .request import ImproveRequest
from .scoring import Scorer
from .split import round_order, rung_sizes

ETA = 3  # successive halving keeps the best 1/ETA of a rung
MAX_ROUNDS = 40
IDLE_ROUNDS = 2  # rounds that evaluate nothing new before the search gives up


class OutOfTime(Exception):
    """The request's minutes are spent: the search ends with its best so far."""


@dataclass
class SearchContext:
    store: Store
    scorer: Scorer
    proposer: Proposer | None
    request: ImproveRequest
    job_id: str
    prompt_id: str  # the candidates' prompt line in the session
    start: PromptVersion
    training: tuple[str, ...]
    budget: int  # target-model calls the search may spend
    elapsed: Callable[[], float]  # seconds of work so far (earlier processes' included)
    on_scored: Callable[[Candidate, Candidate, int, int], None]  # candidate, best, round, spent


class Search:
    def __init__(self, context: SearchContext):
        self.c = context
        self.request = context.request
        self.pool = ExamplePool(context.start)
        self.spent = 0
        self.best: Candidate | None = None
        self.exhausted = False
        stored = context.store.improve.candidates(context.job_id)
        self.position = len(stored)
        self.by_content: dict[tuple, Candidate] = {}
        self.versions: dict[str, PromptVersion] = {}

    # -- the whole search ------------------------------------------------------------------

    def run(self) -> tuple[Candidate, Candidate]:
        """The start and the best candidate on training (the start if nothing beat it)."""
        sizes = rung_sizes(len(self.c.training))
        start = self._start()
        self.best = start
        start = self.best = self._score([start], len(sizes) - 1, self.c.training, 0)[0]
        self._learn_examples([start])
        study = self._study() if self.request.allowed.settings else None
        idle = 0
        for round_number in range(1, MAX_ROUNDS + 1):
            if self.exhausted or self.spent + sizes[0] > self.c.budget:
                break
            try:
                evaluated = self._round(round_number, sizes, study)
            except OutOfTime:
                break
            idle = 0 if evaluated else idle + 1
            if idle >= IDLE_ROUNDS:
                break
        return start, self.best

    def _round(self, round_number: int, sizes: list[int], study) -> bool:
        """One round from the best so far; whether it evaluated anything new."""
        self._check_time()
        best = self.best
        proposals: list[Candidate] = []
        if self.request.allowed.instruction and self.c.proposer is not None:
            proposals += self._rewrites(best, round_number)
        trials = self._trials(study, best, round_number) if study is not None else []
        proposals += [candidate for _, candidate, new in trials if new]
        finalists = self._halving(proposals, round_number, sizes) if proposals else []
        for trial, candidate, _ in trials:
            self._tell(study, trial, self._fresh(candidate))
        self._learn_examples([self._fresh(c) for c in proposals])
        for candidate in finalists:
            if _rate(candidate) > _rate(self.best):
                self.best = candidate
        return bool(proposals)

    # -- candidates ------------------------------------------------------------------------

    def _start(self) -> Candidate:
        found = self.c.store.improve.candidate_at(self.c.job_id, "start")
        if found is None:
            found = self.c.store.improve.add_candidate(Candidate(
                self.c.job_id, "start", self.c.start.id,
                start_settings(self.c.start, self.pool), change="the start",
                position=self._next_position()))
        self.versions[found.id] = self.c.start
        self.by_content[self._content_key(self.c.start, found.settings)] = found
        return found

    def _candidate(self, slot: str, settings: CandidateSettings, parent: Candidate,
                   round_number: int, critique: str = "") -> tuple[Candidate, bool]:
        """The candidate at ``slot`` (stored, or made now), and whether it is new to the
        search (False: a stored one of the same content is returned instead)."""
        found = self.c.store.improve.candidate_at(self.c.job_id, slot)
        if found is not None:
            version = self.c.store.prompts.version(found.version_id)
            self.versions[found.id] = version
            key = self._content_key(version, found.settings)
            self.by_content.setdefault(key, found)
            return found, self.by_content[key].id == found.id
        change = describe_change(parent.settings, settings)
        version = render(self.c.start, settings, self.pool, self.request,
                         prompt_id=self.c.prompt_id,
                         parent_version_id=self.versions[parent.id].id,
                         note=f"improve {self.c.job_id[:8]} {slot}: {change}")
        key = self._content_key(version, settings)
        if key in self.by_content:
            return self.by_content[key], False
        self.c.store.prompts.save_version(version)
        candidate = self.c.store.improve.add_candidate(Candidate(
            self.c.job_id, slot, version.id, settings, parent_id=parent.id, change=change,
            critique=critique, round=round_number, position=self._next_position()))
        self.versions[candidate.id] = version
        self.by_content[key] = candidate
        return candidate, True

    def _content_key(self, version: PromptVersion, settings: CandidateSettings) -> tuple:
        temperature = (self.request.target_sampling.temperature if settings.temperature is None
                       else settings.temperature)
        return version.content_hash, temperature

    def _next_position(self) -> int:
        self.position += 1
        return self.position - 1

    def _fresh(self, candidate: Candidate) -> Candidate:
        return next(c for c in self.c.store.improve.candidates(self.c.job_id)
                    if c.id == candidate.id)

    # -- proposals -------------------------------------------------------------------------

    def _rewrites(self, parent: Candidate, round_number: int) -> list[Candidate]:
        count = self.request.rewrites_per_round
        slots = [f"r{round_number}-rewrite-{i}" for i in range(count)]
        stored = [self.c.store.improve.candidate_at(self.c.job_id, slot) for slot in slots]
        asked = self._proposed_rounds()
        if round_number in asked or all(stored):
            answers = [None] * count  # asked before a kill: take what it gave, ask again nothing
        else:
            failures = self.c.scorer.failures(parent)
            answers = self.c.proposer.rewrites(parent.settings.instruction, failures, count,
                                               seed=self.request.seed * 1000 + round_number * 10)
        made = []
        for slot, found, answer in zip(slots, stored, answers):
            if found is None and answer is None:
                continue
            settings = CandidateSettings(
                answer.instruction if found is None else found.settings.instruction,
                parent.settings.system_on, parent.settings.format_line,
                parent.settings.examples, parent.settings.temperature)
            candidate, new = self._candidate(slot, settings, parent, round_number,
                                             critique=answer.critique if answer else "")
            if new:
                made.append(candidate)
        if round_number not in asked:
            self._mark_proposed(round_number)  # after its candidates are stored
        return made

    def _trials(self, study, parent: Candidate, round_number: int) -> list:
        """(trial, candidate, new) for each of the round's TPE trials."""
        made = []
        for index in range(self.request.trials_per_round):
            trial = study.ask()
            settings = self._settings_of(trial, parent.settings)
            candidate, new = self._candidate(f"r{round_number}-trial-{index}", settings, parent,
                                             round_number)
            made.append((trial, candidate, new))
        return made

    def _settings_of(self, trial, parent: CandidateSettings) -> CandidateSettings:
        allowed = self.request.allowed
        examples = parent.examples
        if allowed.examples:
            count = trial.suggest_int("k", 0, allowed.max_examples)
            picks = [trial.suggest_categorical(f"ex{i}", list(range(POOL_CAP)))
                     for i in range(allowed.max_examples)]
            keys = self.pool.keys
            chosen: list[str] = []
            for index in picks:
                if len(chosen) == count:
                    break
                if index < len(keys) and keys[index] not in chosen:
                    chosen.append(keys[index])
            examples = tuple(chosen)
        temperature = parent.temperature
        if allowed.temperature:
            temperature = float(trial.suggest_categorical(
                "temperature", [float(t) for t in allowed.temperatures]))
        system_on = (bool(trial.suggest_categorical("system_on", [True, False]))
                     if allowed.system_prompt else parent.system_on)
        format_line = (bool(trial.suggest_categorical("format_line", [True, False]))
                       if allowed.format_line else parent.format_line)
        return CandidateSettings(parent.instruction, system_on, format_line, examples,
                                 temperature)

    def _study(self):
        import optuna  # only when settings are searched: importing it costs a second

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=self.request.seed, n_startup_trials=max(2, self.request.trials_per_round))
        return optuna.create_study(direction="maximize", sampler=sampler)

    @staticmethod
    def _tell(study, trial, candidate: Candidate) -> None:
        from optuna.trial import TrialState

        done = [e for e in candidate.evaluations if e.stage == TRAINING and e.done]
        if not done:
            study.tell(trial, state=TrialState.FAIL)
            return
        # The rate on the biggest sample it reached, a little less for an early exit, so
        # TPE prefers what survived the halving over a lucky small sample.
        reached = max(done, key=lambda e: e.rung)
        study.tell(trial, (reached.rate or 0.0) + 0.01 * reached.rung)

    # -- successive halving ------------------------------------------------------------------

    def _halving(self, proposals: list[Candidate], round_number: int,
                 sizes: list[int]) -> list[Candidate]:
        """The proposals that reached every training case (the finalists), scored there."""
        order = round_order(self.c.training, self.request.seed, round_number)
        alive = proposals
        last = len(sizes) - 1
        for rung, size in enumerate(sizes):
            self._check_time()
            affordable = (self.c.budget - self.spent) // size
            if affordable < len(alive):
                self.exhausted = True
                alive = alive[:affordable]
            if not alive:
                return []
            cases = self.c.training if rung == last else tuple(order[:size])
            alive = self._score(alive, rung, cases, round_number)
            if rung == last:
                return alive
            keep = max(1, math.ceil(len(alive) / ETA))
            alive = sorted(alive, key=lambda c: (-(c.evaluation(TRAINING, rung).rate or 0.0),
                                                 c.position))[:keep]
        return alive

    def _score(self, candidates: Sequence[Candidate], rung: int, cases: Sequence[str],
               round_number: int) -> list[Candidate]:
        scored = self.c.scorer.score(
            candidates, self.versions, TRAINING, rung, cases, 1,
            name=f"improve {self.c.job_id[:8]} · round {round_number} · {len(cases)} cases")
        for candidate in scored:
            self.spent += candidate.evaluation(TRAINING, rung).generations
        if len(scored) == 1 and scored[0].slot == "start":
            self.best = scored[0]
        for candidate in scored:
            self.c.on_scored(candidate, self.best, round_number, self.spent)
        return scored

    # -- the example pool ----------------------------------------------------------------------

    def _learn_examples(self, candidates: Sequence[Candidate]) -> None:
        """Passing training answers join the pool (in candidate, then case order)."""
        if not self.request.allowed.examples:
            return
        for candidate in sorted(candidates, key=lambda c: c.position):
            for evaluation in sorted((e for e in candidate.evaluations
                                      if e.stage == TRAINING and e.done), key=lambda e: e.rung):
                answers = self.c.scorer.answers(candidate, evaluation)
                self.pool.add_passing((case, text) for case, text, passed, _ in answers
                                      if passed)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _check_time(self) -> None:
        minutes = self.request.budget_minutes
        if minutes is not None and self.c.elapsed() >= minutes * 60:
            self.exhausted = True
            raise OutOfTime()

    def _proposed_rounds(self) -> set[int]:
        job = self.c.store.improve.job(self.c.job_id)
        return set(job.result.get("proposed_rounds", []))

    def _mark_proposed(self, round_number: int) -> None:
        job = self.c.store.improve.job(self.c.job_id)
        rounds = sorted({*job.result.get("proposed_rounds", []), round_number})
        self.c.store.improve.update_job(self.c.job_id,
                                        result={**job.result, "proposed_rounds": rounds})


def _rate(candidate: Candidate) -> float:
    evaluation = candidate.training()
    return -1.0 if evaluation is None or evaluation.rate is None else evaluation.rate


def monotonic_clock(before: float) -> Callable[[], float]:
    """Seconds of work: ``before`` (earlier processes') plus this process's."""
    started = time.monotonic()
    return lambda: before + time.monotonic() - started
