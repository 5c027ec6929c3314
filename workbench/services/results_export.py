"""A run's results as rows, written by whichever exporter plugin owns the file's suffix
(File ▸ Export results…, ``workbench eval --json/--junit/--export``; JSON, JSON lines, CSV and
JUnit XML are built-in plugins')."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from statistics import mean

from ..core.cases import TestCase
from ..core.evaluation import EvalResult
from ..core.runs import Output, Run, Variant
from ..plugins.manager import PluginManager
from ..store import Store
from .evaluation.pass_rates import counted
from .evaluation.run_report import report_for_run
from .library import ModelNames

# Outputs read from the store at a time: what an export holds in memory, whatever the run's size.
BATCH = 500


class ResultRows:
    """A run's result rows as exporters get them: a stream, not a list. Iterating it reads the
    run from the store ``batch`` outputs at a time and builds each row as it goes, so a run of
    any size costs one batch of memory; iterate it as often as needed (each time it reads
    again); ``len()`` counts the rows in the store (a COUNT, no rows read)."""

    def __init__(self, store: Store, run: Run, batch: int | None = None):
        self.store, self.run, self.batch = store, run, batch or BATCH
        self._counted: set[str] | None = None

    def __len__(self) -> int:
        return self.store.runs.count_outputs(self.run.id)

    def __getitem__(self, index: int | slice):
        """``rows[i]`` and ``rows[a:b]`` as of a list, for a plugin written for one: each
        reads the rows from the start (a slice holds what it returns)."""
        if isinstance(index, slice):
            return list(self)[index]
        position = index + len(self) if index < 0 else index
        found = next(itertools.islice(self, position, None), None) if position >= 0 else None
        if found is None:
            raise IndexError("result row index out of range")
        return found

    def __iter__(self) -> Iterator[dict]:
        variants = {variant.id: variant for variant in self.run.variants}
        listed = ModelNames.listed(store=self.store)  # each model by its one name
        names = functools.lru_cache(maxsize=64)(listed.of)  # a run has a few models, each
        # resolved once per pass, not once per row (a realpath each)
        for outputs in self.store.runs.output_batches(self.run.id, self.batch):
            yield from self._rows(outputs, variants, names)

    def counted_ids(self) -> set[str]:
        """The outputs whose verdicts the pass rates count (one per cell, no branch), read
        once from the verdicts' cells alone: a reader of the file gets the app's numbers by
        counting the rows marked so."""
        if self._counted is None:
            self._counted = {cell.output_id for cell in
                             counted(self.store.evaluations.cells(self.run.id))}
        return self._counted

    def _rows(self, outputs: list[Output], variants: dict,
              names: Callable[[str], str]) -> Iterator[dict]:
        ids = [output.id for output in outputs]
        verdicts = self.store.evaluations.results_for(ids)
        cases = (self.store.case_sets.cases(self.run.case_set_id,
                                            {o.case_id for o in outputs if o.case_id})
                 if self.run.case_set_id else {})
        stars: dict[str, list[int]] = {}
        for rating in self.store.ratings.ratings_for(ids):
            stars.setdefault(rating.output_id, []).append(rating.score)
        in_rate = self.counted_ids() if verdicts else set()
        for output in outputs:
            yield result_row(self.run, output, variants.get(output.variant_id),
                             cases.get(output.case_id or ""), verdicts.get(output.id),
                             output.id in in_rate, stars.get(output.id), names)


def result_rows(store: Store, run: Run) -> ResultRows:
    """One flat row per output (``result_row``), as a re-iterable, sized stream."""
    return ResultRows(store, run)


def result_row(run: Run, output: Output, variant: Variant | None, case: TestCase | None,
               verdict: EvalResult | None, in_rate: bool, stars: list[int] | None,
               names: Callable[[str], str]) -> dict:
    """The variant, the case, the answer, its timings and provenance, its verdict (when the
    cases had checks; ``counted``: whether the pass rate counts it — a cell generated again
    counts its latest output, a branch never — and ``results``: each check's own verdict),
    the output it was branched from, and its mean rating."""
    return {
        "run": run.name or run.id[:8], "variant": variant.label if variant else "",
        "case": (case.position + 1) if case else None, "case_id": output.case_id,
        "description": case.description if case else None,
        **{f"var:{k}": v for k, v in (case.variables.items() if case else ())},
        "expected": case.expected if case else None, "output": output.text,
        "repeat": output.repeat, "tokens": output.token_count,
        "prompt_tokens": output.prompt_tokens,
        "first_token_s": output.time_to_first_token_s,
        "tokens_per_s": output.tokens_per_second, "total_s": output.total_s,
        "finish": output.finish_reason, "seed": output.seed,
        "error": output.error or (verdict.verdict.error if verdict else None),
        "model": names(output.model_path) if output.model_path else "",
        "model_file": Path(output.model_path).name if output.model_path else "",
        "model_sha256": output.model_sha256, "adapter": output.adapter_path,
        "passed": verdict.passed if verdict else None,
        "score": round(verdict.score, 4) if verdict else None,
        "reason": verdict.verdict.reason if verdict else None,
        "results": [r.to_dict() for r in verdict.verdict.results] if verdict else None,
        "counted": in_rate if verdict else None,
        "branch_of": output.branch_of,
        "stars": round(mean(stars), 2) if stars else None,
        "output_id": output.id,
    }


def run_summary(store: Store, run: Run) -> dict:
    """The run as a whole, for exporters that take it: its ids, its repeats and threshold,
    and its evaluation report when it was checked."""
    eval_run = store.evaluations.eval_run(run.id)
    summary = {"run": run.name or run.id[:8], "run_id": run.id, "session_id": run.session_id}
    if eval_run is not None:
        summary.update(repeats=eval_run.repeats, threshold=eval_run.threshold,
                       report=report_for_run(store, run.id).to_dict())
    return summary


def export_results(store: Store, plugins: PluginManager, run: Run, path: str | Path, *,
                   suffix: str | None = None, summary: dict | None = None) -> int:
    """Write the run's rows to ``path`` with the exporter for ``suffix`` (default: the
    path's); one that takes a summary gets ``summary`` over ``run_summary``'s. Returns the
    number of rows."""
    rows = result_rows(store, run)
    _, exporter = plugins.exporter_for(Path(path).suffix if suffix is None else suffix)
    whole = {**run_summary(store, run), **(summary or {})} if exporter.summary else None
    plugins.export(path, rows, summary=whole, suffix=suffix)
    return len(rows)
