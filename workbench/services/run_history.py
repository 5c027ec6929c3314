"""Earlier runs of a session: list them, and open one as it was left, with its ratings and
the plugins' scores and flags (computed again on show: scores are not stored, and a scorer
added since applies to old outputs too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.cases import CaseSet, TestCase
from ..core.errors import NotFoundError
from ..core.evaluation import EvalResult
from ..core.prompts import PromptVersion
from ..core.ratings import Preference, Rating
from ..core.runs import CellKey, Output, Run, Variant
from ..core.tokens import TokenTrace
from ..plugins.manager import PluginManager
from ..store import Store
from . import run_state
from .compare import VariantSpec


@dataclass(frozen=True)
class StoredRun:
    run: Run
    cases: list[TestCase]
    outputs: list[Output]  # every output, oldest first (a re-run cell has several)
    ratings: list[Rating]
    preferences: list[Preference]
    flags: dict[str, list[str]] = field(default_factory=dict)  # output id -> filter reasons
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # output id -> figures


class RunHistoryService:
    def __init__(self, store: Store, plugins: PluginManager | None = None):
        self.store, self.plugins = store, plugins

    def runs(self, session_id: str) -> list[Run]:
        """The session's runs, newest first (a run whose process is gone is interrupted)."""
        run_state.find_interrupted(self.store)
        return self.store.runs.listing(session_id)

    def status_texts(self, runs: list[Run]) -> dict[str, str]:
        """Run id -> its status as the run list says it: 'interrupted (12 of 31 cells)'."""
        return {run.id: run_state.describe(self.store, run) for run in runs}

    def resumable(self, run: Run) -> bool:
        """Stopped or interrupted, and not an improve job's sample (its job finishes it)."""
        return (run.status in run_state.RESUMABLE
                and run_state.improve_job_of(self.store, run.id) is None)

    def missing_cells(self, run: Run) -> list[CellKey]:
        return run_state.missing_cells(self.store, run)

    def repeats(self, run: Run) -> int:
        return run_state.run_repeats(self.store, run)

    def spec_for(self, variant: Variant) -> VariantSpec:
        return run_state.spec_for(self.store, variant)

    def case_set(self, case_set_id: str) -> CaseSet:
        return self.store.case_sets.get(case_set_id)

    def token_trace(self, output_id: str) -> TokenTrace | None:
        """An output's tokens with their probabilities, when they were recorded."""
        return self.store.runs.token_trace(output_id)

    def verdicts(self, run_id: str) -> list[EvalResult]:
        """The run's stored verdicts, every output's (branches and repeats too)."""
        return self.store.evaluations.results(run_id)

    def versions(self, run: Run) -> dict[str, PromptVersion]:
        """Variant id -> the prompt version it ran."""
        return {v.id: self.store.prompts.version(v.prompt_version_id) for v in run.variants}

    def open(self, run_id: str, cases: list[TestCase] | None = None) -> StoredRun:
        """One run with everything the grid shows. ``cases`` defaults to the run's case set
        as it is now (case ids survive edits of the table)."""
        run = self.store.runs.get(run_id)
        if cases is None:
            try:
                cases = list(self.store.case_sets.get(run.case_set_id).cases) if run.case_set_id \
                    else []
            except NotFoundError:
                cases = []
        outputs = self.store.runs.outputs(run_id)
        ids = [o.id for o in outputs]
        flags, scores = self.annotate(outputs, cases)
        return StoredRun(run, list(cases), outputs, self.store.ratings.ratings_for(ids),
                         self.store.ratings.preferences_for(ids), flags, scores)

    def annotate(self, outputs: list[Output], cases: list[TestCase]
                 ) -> tuple[dict[str, list[str]], dict[str, dict[str, float]]]:
        """The plugins' output-filter flags and scorer figures for finished answers."""
        if self.plugins is None:
            return {}, {}
        expected = {c.id: c.expected for c in cases}
        flags: dict[str, list[str]] = {}
        scores: dict[str, dict[str, float]] = {}
        for output in outputs:
            if not output.answered:
                continue
            flags[output.id] = [f.reason for f in self.plugins.check_output(output.text)]
            scores[output.id] = {s.scorer: s.value for s in
                                 self.plugins.scores(output.text, expected.get(output.case_id))
                                 if s.value is not None}
        return flags, scores
