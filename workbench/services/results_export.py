"""A run's results as rows, written by whichever exporter plugin owns the file's suffix
(File ▸ Export results…, ``workbench eval --json/--junit/--export``; JSON, JSON lines, CSV and
JUnit XML are built-in plugins')."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

from ..core.runs import Run
from ..plugins.manager import PluginManager
from ..store import Store
from .evaluation.pass_rates import counted
from .evaluation.runner import report_for_run
from .library import ModelNames


def result_rows(store: Store, run: Run) -> list[dict]:
    """One flat row per output: the variant, the case, the answer, its timings and provenance,
    its verdict (when the cases had checks; ``counted``: whether the pass rate counts it — a
    cell generated again counts its latest output, a branch never — and ``results``: each
    check's own verdict), the output it was branched from, and its mean rating."""
    variants = {variant.id: variant for variant in run.variants}
    cases = ({case.id: case for case in store.case_sets.get(run.case_set_id).cases}
             if run.case_set_id else {})
    outputs = store.runs.outputs(run.id)
    results = store.evaluations.results(run.id)
    verdicts = {result.output_id: result for result in results}
    # the verdicts the pass rates count (one per cell, no branch): a reader of the file gets
    # the app's numbers by counting the rows marked so
    in_rate = {result.output_id for result in counted(results)}
    stars: dict[str, list[int]] = {}
    for rating in store.ratings.ratings_for([output.id for output in outputs]):
        stars.setdefault(rating.output_id, []).append(rating.score)
    names = ModelNames.listed(store=store)  # each model by its one name, the file beside it
    rows = []
    for output in outputs:
        variant = variants.get(output.variant_id)
        case = cases.get(output.case_id or "")
        verdict = verdicts.get(output.id)
        row = {
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
            "model": names.of(output.model_path) if output.model_path else "",
            "model_file": Path(output.model_path).name if output.model_path else "",
            "model_sha256": output.model_sha256, "adapter": output.adapter_path,
            "passed": verdict.passed if verdict else None,
            "score": round(verdict.score, 4) if verdict else None,
            "reason": verdict.verdict.reason if verdict else None,
            "results": [r.to_dict() for r in verdict.verdict.results] if verdict else None,
            "counted": (output.id in in_rate) if verdict else None,
            "branch_of": output.branch_of,
            "stars": round(mean(stars[output.id]), 2) if output.id in stars else None,
            "output_id": output.id,
        }
        rows.append(row)
    return rows


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
