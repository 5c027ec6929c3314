"""A run's state as the user should see it: *running* only while some process works on it,
*interrupted* once that process is gone, and how many of its cells are filled. Also what a
resume needs: the cells still missing, and each stored variant as the spec that made it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.cases import TestCase
from ..core.engine_flags import ENGINE_SHORT
from ..core.errors import NotFoundError
from ..core.runs import CANCELLED_FINISH, CellKey, Run, RunStatus, Variant
from ..core.wording import counted
from ..store import Store
from . import run_lease
from .compare import VariantSpec

# Runs a resume can finish: interrupted by a dead process, or stopped by the user.
RESUMABLE = (RunStatus.INTERRUPTED, RunStatus.CANCELLED)


@dataclass(frozen=True)
class CellProgress:
    done: int  # cells with an output (an answer or a failure; a stopped cell is not done)
    total: int

    def __str__(self) -> str:
        return f"{self.done:,} of {counted(self.total, 'cell')}"


def find_interrupted(store: Store) -> list[str]:
    """Runs stored as running whose process is gone are stored as interrupted; returns their
    ids. Cheap (one query, one lock probe per running run): call it whenever runs are listed."""
    found = []
    for run_id in store.runs.ids_with_status(RunStatus.RUNNING):
        if not run_lease.is_alive(store.db.path, run_id):
            store.runs.set_status(run_id, RunStatus.INTERRUPTED)
            found.append(run_id)
    return found


def run_repeats(store: Store, run: Run) -> int:
    eval_run = store.evaluations.eval_run(run.id)
    return eval_run.repeats if eval_run is not None else 1


def run_cases(store: Store, run: Run) -> list[TestCase]:
    if not run.case_set_id:
        return []
    try:
        return list(store.case_sets.get(run.case_set_id).cases)
    except NotFoundError:
        return []


def all_cells(run: Run, cases: list[TestCase], repeats: int) -> list[CellKey]:
    """Every cell of the run, in the order a run generates them (case by case)."""
    return [CellKey(variant.id, case.id, repeat) for case in cases for repeat in range(repeats)
            for variant in run.variants]


def missing_cells(store: Store, run: Run, cases: list[TestCase] | None = None,
                  repeats: int | None = None) -> list[CellKey]:
    """The cells a resume must generate: those with no output, or only a stopped one."""
    cases = run_cases(store, run) if cases is None else cases
    repeats = run_repeats(store, run) if repeats is None else repeats
    filled = store.runs.filled_cells(run.id)
    return [cell for cell in all_cells(run, cases, repeats)
            if filled.get(cell, CANCELLED_FINISH) == CANCELLED_FINISH]


def progress(store: Store, run: Run) -> CellProgress:
    cells = all_cells(run, run_cases(store, run), run_repeats(store, run))
    return CellProgress(len(cells) - len(missing_cells(store, run)), len(cells))


def describe(store: Store, run: Run) -> str:
    """'done', or 'interrupted (12 of 31 cells)' for a run that can be resumed."""
    if run.status in RESUMABLE:
        return f"{run.status.value} ({progress(store, run)})"
    return run.status.value


def spec_for(store: Store, variant: Variant) -> VariantSpec:
    """A stored variant as the spec that made it: the same prompt version, model, sampling
    (seed included), adapter, engine settings and retrieval."""
    version = store.prompts.version(variant.prompt_version_id)
    stored = variant.engine_settings
    return VariantSpec(variant.label, version, variant.model_path, variant.sampling,
                       n_ctx=stored.get("n_ctx", 4096), n_gpu_layers=stored.get("n_gpu_layers"),
                       adapter_path=variant.adapter_path, adapter_scale=variant.adapter_scale,
                       engine={k: stored[k] for k in ENGINE_SHORT if k in stored},
                       retrieval=variant.retrieval)


def improve_job_of(store: Store, run_id: str) -> str | None:
    """The improve job whose candidate this run scored, or None. Such a run holds a sample of
    its case set (training cases, or held-out ones): resuming it as a plain run would fill the
    whole set, so only the job itself finishes it (``workbench improve --resume``)."""
    return store.improve.run_owners().get(run_id)


def resumable_runs(store: Store, source_path: str | None = None) -> list[Run]:
    """Interrupted or stopped runs, newest first, but not an improve job's (see
    ``improve_job_of``); ``source_path``: only evaluations of that suite file."""
    find_interrupted(store)
    owned = store.improve.run_owners()
    runs = [store.runs.get(run_id) for status in RESUMABLE
            for run_id in store.runs.ids_with_status(status) if run_id not in owned]
    if source_path is not None:
        wanted = _same_file(source_path)
        runs = [run for run in runs if _same_file(_suite_path(store, run)) == wanted]
    return sorted(runs, key=lambda run: run.created_at, reverse=True)


def find_run(store: Store, prefix: str) -> Run:
    """A run by its id or the first characters of it (as the CLI prints them)."""
    matches = store.runs.ids_starting_with(prefix)
    if not matches:
        raise NotFoundError(f"No run with an id starting '{prefix}'.")
    if len(matches) > 1:
        raise NotFoundError(f"{len(matches)} runs have ids starting '{prefix}' "
                            f"({', '.join(m[:12] for m in matches[:5])}…): give more of it.")
    return store.runs.get(matches[0])


def _same_file(path: str | None) -> str | None:
    """A path as one file has it, however it was written (relative, through a link)."""
    return os.path.realpath(path) if path else None


def _suite_path(store: Store, run: Run) -> str | None:
    eval_run = store.evaluations.eval_run(run.id)
    if eval_run is None or eval_run.suite_id is None:
        return None
    try:
        return store.evaluations.suite(eval_run.suite_id).source_path
    except NotFoundError:
        return None
