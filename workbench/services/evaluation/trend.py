"""The trend of a test set's evaluated runs, with the shown run's point taken from its report.

Each evaluated run keeps a summary (``summary_of``: the report's pass counts, made when the run
ended or was re-checked). A cell generated again afterwards changes the run's counts without
changing that summary, so the trend could plot one number while the table beside it showed
another. The run being shown therefore gets its point from the same report as the table
(pass_rates.py's count), and a summary found stale is stored again, so the run's point stays
right when another run is shown later.
"""

from __future__ import annotations

from dataclasses import replace

from ...core.evaluation import EvalRun
from ...core.runs import Run
from ...store import Store
from .report import EvalReport


def summary_of(report: EvalReport) -> dict:
    """What the history trend needs per variant (label, passed, total, rate), kept with the
    run."""
    return {"variants": list(report.summary().values())}


def trend_history(store: Store, run: Run, report: EvalReport) -> list[EvalRun]:
    """The evaluated runs of ``run``'s test set, oldest first (just ``run`` when it has no
    test set), ``run``'s own summary made from ``report``."""
    if run.case_set_id is not None:
        history = store.evaluations.history(case_set_id=run.case_set_id)
    else:
        history = [e for e in [store.evaluations.eval_run(run.id)] if e is not None]
    current = summary_of(report)
    shown = []
    for evaluated in history:
        # a run still going has no summary yet: it joins the trend when it ends
        if evaluated.run_id == run.id and evaluated.summary and evaluated.summary != current:
            store.evaluations.set_summary(run.id, current)
            evaluated = replace(evaluated, summary=current)
        shown.append(evaluated)
    return shown
