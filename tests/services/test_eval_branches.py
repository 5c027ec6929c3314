"""A branch in a stored run (a real SQLite file): its verdict is stored and read back as a
branch's, and every number built from the store — the report, the trend's point, the
promptfoo export's counts, the grid's pass line text — counts the cells without it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.store.conftest import populate
from workbench.core.evaluation import Assertion, AssertionResult, EvalResult, EvalRun, combine
from workbench.core.runs import Output
from workbench.services.evaluation.eval_service import report_for_run
from workbench.services.evaluation.pass_rates import counted, pass_counts
from workbench.services.evaluation.promptfoo_results import promptfoo_results
from workbench.services.evaluation.trend import summary_of, trend_history
from workbench.services.results_export import result_rows
from workbench.store import Store

CONTAINS = Assertion("contains", "cheval")


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "workbench.sqlite3")
    yield opened
    opened.close()


def verdict(passed: bool):
    return combine([AssertionResult(CONTAINS, passed, float(passed),
                                    "" if passed else "does not contain 'cheval'")])


def evaluated_with_a_branch(store: Store):
    """populate()'s run (2 variants × 2 cases): v1 passes case 1 only, v2 passes both; then
    v1's failing case-2 cell is branched and the branch passes."""
    data = populate(store)
    results = [EvalResult(o.run_id, o.id, o.variant_id, o.case_id, o.repeat,
                          verdict(o.variant_id == data.run.variants[1].id or n == 0))
               for n, o in enumerate(data.outputs)]
    store.evaluations.add_eval_run(EvalRun(data.run.id))
    store.evaluations.add_results(results)
    store.evaluations.set_summary(data.run.id, summary_of(report_for_run(store, data.run.id)))
    parent = data.outputs[1]
    branch = store.runs.add_output(Output(parent.run_id, parent.variant_id, parent.case_id,
                                          text="cheval", branch_of=parent.id,
                                          forced_tokens=(42,), finish_reason="stop"))
    store.evaluations.add_results([EvalResult(branch.run_id, branch.id, branch.variant_id,
                                              branch.case_id, 0, verdict(True),
                                              branch_of=parent.id)])
    return data, branch


def test_a_branch_verdict_is_read_back_as_a_branch(store):
    data, branch = evaluated_with_a_branch(store)
    stored = store.evaluations.results(data.run.id)
    assert [r.branch_of for r in stored] == [None] * 4 + [data.outputs[1].id]
    assert store.evaluations.result_for_output(branch.id).branch_of == data.outputs[1].id
    assert branch.id not in {r.output_id for r in counted(stored)}


def test_every_count_leaves_the_branch_out(store):
    data, branch = evaluated_with_a_branch(store)
    v1, v2 = data.run.variants
    report = report_for_run(store, data.run.id)
    first = report.variants[0]
    assert (first.passed, first.total, first.rate) == (1, 2, 0.5)  # not 2/2 with the branch
    assert (first.branches, first.branches_passed) == (1, 1)
    counts = pass_counts([v1.id, v2.id], store.evaluations.results(data.run.id))
    assert counts[v1.id].line("v1") == "v1 1/2 pass (+1 branch: 1 passes, not counted)"
    assert counts[v2.id].line("v2") == "v2 2/2 pass"
    exported = promptfoo_results(store, data.run)["results"]
    assert (exported["stats"]["successes"], exported["stats"]["failures"]) == (3, 1)
    exported_outputs = {row["metadata"]["workbench"]["output_id"]
                        for row in exported["results"]}
    assert exported_outputs == {o.id for o in data.outputs}  # the branch is no row
    rows = result_rows(store, data.run)  # File ▸ Export results: every output, marked
    assert [(r["counted"], r["branch_of"]) for r in rows] == \
        [(True, None)] * 4 + [(False, data.outputs[1].id)]
    assert sum(r["passed"] for r in rows if r["counted"]) == 3


def test_the_trend_point_of_the_shown_run_is_its_reports(store):
    """The stored summary goes stale when a cell is generated again after the run ended; the
    trend then takes the report's numbers and stores them for later."""
    data, _ = evaluated_with_a_branch(store)
    v1 = data.run.variants[0]
    cell = data.outputs[1]  # v1, case 2: generated again, and this time it passes
    again = store.runs.add_output(replace(cell, id="again", text="cheval"))
    store.evaluations.add_results([EvalResult(again.run_id, again.id, again.variant_id,
                                              again.case_id, 0, verdict(True))])
    report = report_for_run(store, data.run.id)
    assert (report.variants[0].passed, report.variants[0].total) == (2, 2)
    stale = store.evaluations.eval_run(data.run.id).summary
    assert stale["variants"][0]["passed"] == 1
    (point,) = trend_history(store, data.run, report)
    assert point.summary == summary_of(report)
    assert point.summary["variants"][0] == {"label": v1.label, "passed": 2, "total": 2,
                                            "rate": 1.0}
    assert store.evaluations.eval_run(data.run.id).summary == summary_of(report)
