"""A stored run's report, read in bounded memory: the verdicts stream from the store in
batches and each is kept only as its ``Sample`` (cell, pass, score, check labels, rubric
scores); the ratings and preferences are read for the run by a join, never by listing its
outputs; an output's variant is looked up only for the outputs a preference names."""

from __future__ import annotations

from dataclasses import replace

from ...store import Store
from ..retrieval_context import retrieval_scores
from .report import EvalReport, build_report

# Verdicts and outputs read from the store at a time.
BATCH = 500


def report_for_run(store: Store, run_id: str, seed: int = 0) -> EvalReport:
    run = store.runs.get(run_id)
    preferences = store.ratings.preferences_in_run(run_id)
    named = {ident for p in preferences for ident in (p.output_a_id, p.output_b_id)}
    report = build_report(
        [(variant.id, variant.label) for variant in run.variants],
        (result for batch in store.evaluations.result_batches(run_id, BATCH) for result in batch),
        preferences=preferences, ratings=store.ratings.ratings_in_run(run_id),
        # a branch is no sample of its variant: not in the ranking either
        output_variant=store.runs.variants_of(run_id, named), seed=seed)
    outputs = (output for batch in store.runs.output_batches(run_id, BATCH) for output in batch)
    return replace(report, retrieval=retrieval_scores(store, run, outputs))
