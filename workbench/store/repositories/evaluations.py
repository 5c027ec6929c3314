"""The evaluation lab's records: stored suites, evaluated runs and the verdict on each output.

Verdicts come in thousands per run, so ``add_results`` saves them the way outputs are saved
(``output_rows.insert_batch``: one executemany, all or nothing). Everything here hangs off a
session: deleting the session removes its suites, and through its runs and outputs their
evaluations and verdicts (ON DELETE CASCADE in migration 0004).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import delete, literal_column, select
from sqlalchemy.orm import Session as OrmSession

from ...core.errors import NotFoundError, StoreError
from ...core.evaluation import CaseVerdict, EvalResult, EvalRun, VerdictCell
from ...core.suites import StoredSuite
from ..database import Database
from ..schema import EvalResultRow, EvalRunRow, EvalSuiteRow, OutputRow, RunRow
from .output_rows import CHUNK, Reference, driver_rows, insert_batch, missing_reference

RESULTS = EvalResultRow.__table__
RESULT_REFERENCES: tuple[Reference, ...] = (("run_id", "runs", "run"),
                                            ("output_id", "outputs", "output"))


def to_suite(row: EvalSuiteRow) -> StoredSuite:
    return StoredSuite(session_id=row.session_id, case_set_id=row.case_set_id, name=row.name,
                       source_path=row.source_path, yaml_text=row.yaml_text, id=row.id,
                       created_at=row.created_at)


def to_eval_run(row: EvalRunRow) -> EvalRun:
    return EvalRun(run_id=row.run_id, suite_id=row.suite_id, repeats=row.repeats,
                   threshold=row.threshold, summary=dict(row.summary),
                   created_at=row.created_at)


def to_result(row: EvalResultRow, branch_of: str | None = None) -> EvalResult:
    """``branch_of``: the judged output's own (outputs.branch_of), read with the row."""
    return EvalResult(run_id=row.run_id, output_id=row.output_id, variant_id=row.variant_id,
                      case_id=row.case_id, repeat=row.repeat,
                      verdict=CaseVerdict.from_dict(row.verdict), id=row.id,
                      branch_of=branch_of)


def result_values(result: EvalResult) -> dict[str, Any]:
    """The row as Python values, one per column of ``eval_results``; ``passed`` and ``score``
    are copied out of the verdict so pass rates can be counted in SQL."""
    return {"id": result.id, "run_id": result.run_id, "output_id": result.output_id,
            "variant_id": result.variant_id, "case_id": result.case_id,
            "repeat": result.repeat, "passed": result.passed, "score": result.score,
            "verdict": result.verdict.to_dict()}


def already_judged(s: OrmSession, results: Sequence[EvalResult]) -> str | None:
    """The first output of the batch that has a verdict already (or twice in the batch), as
    words; None if none has."""
    seen: set[str] = set()
    for result in results:
        if result.output_id in seen:
            return (f"the batch holds two verdicts for output {result.output_id}; "
                    "an output has one")
        seen.add(result.output_id)
    ids = sorted(seen)
    for start in range(0, len(ids), CHUNK):
        found = s.scalar(select(EvalResultRow.output_id)
                         .where(EvalResultRow.output_id.in_(ids[start:start + CHUNK])).limit(1))
        if found is not None:
            return (f"output {found} already has a verdict (a re-evaluation replaces it with "
                    "replace_result)")
    return None


class EvaluationRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- suites ---------------------------------------------------------------------------

    def add_suite(self, suite: StoredSuite) -> StoredSuite:
        with self.db.transaction() as s:
            s.add(EvalSuiteRow(id=suite.id, session_id=suite.session_id,
                               case_set_id=suite.case_set_id, name=suite.name,
                               source_path=suite.source_path, yaml_text=suite.yaml_text,
                               created_at=suite.created_at))
        return suite

    def suite(self, suite_id: str) -> StoredSuite:
        with self.db.reading() as s:
            row = s.get(EvalSuiteRow, suite_id)
            if row is None:
                raise NotFoundError(f"No evaluation suite with id {suite_id}.")
            return to_suite(row)

    def suites(self, session_id: str) -> list[StoredSuite]:
        """The session's suites, oldest first."""
        with self.db.reading() as s:
            rows = s.scalars(select(EvalSuiteRow).where(EvalSuiteRow.session_id == session_id)
                             .order_by(EvalSuiteRow.created_at)).all()
            return [to_suite(r) for r in rows]

    # -- evaluated runs -------------------------------------------------------------------

    def add_eval_run(self, eval_run: EvalRun) -> EvalRun:
        """Record that a run is evaluated (one record per run; the run must exist)."""
        with self.db.transaction() as s:
            if s.get(EvalRunRow, eval_run.run_id) is not None:
                raise StoreError(f"Cannot save to {self.db.path}: run {eval_run.run_id} is "
                                 "already recorded as evaluated. Nothing was changed.")
            if s.get(RunRow, eval_run.run_id) is None:
                raise StoreError(f"Cannot save to {self.db.path}: the evaluation refers to run "
                                 f"{eval_run.run_id!r}, which does not exist. "
                                 "Nothing was changed.")
            s.add(EvalRunRow(run_id=eval_run.run_id, suite_id=eval_run.suite_id,
                             repeats=eval_run.repeats, threshold=eval_run.threshold,
                             summary=dict(eval_run.summary), created_at=eval_run.created_at))
        return eval_run

    def eval_run(self, run_id: str) -> EvalRun | None:
        """The run's evaluation record, or None for a run that was not evaluated."""
        with self.db.reading() as s:
            row = s.get(EvalRunRow, run_id)
            return None if row is None else to_eval_run(row)

    def set_summary(self, run_id: str, summary: dict[str, Any]) -> EvalRun:
        """Replace the run's summary (written when the run ends, or after a re-evaluation)."""
        with self.db.transaction() as s:
            row = s.get(EvalRunRow, run_id)
            if row is None:
                raise NotFoundError(f"No evaluation recorded for run {run_id}.")
            row.summary = dict(summary)
            return to_eval_run(row)

    def history(self, suite_id: str | None = None,
                case_set_id: str | None = None) -> list[EvalRun]:
        """Evaluated runs of a suite and/or of a case set, oldest first (the trend of a suite's
        runs); with neither, every evaluated run."""
        query = select(EvalRunRow)
        if suite_id is not None:
            query = query.where(EvalRunRow.suite_id == suite_id)
        if case_set_id is not None:
            query = query.join(RunRow, RunRow.id == EvalRunRow.run_id).where(
                RunRow.case_set_id == case_set_id)
        # Same timestamp (a fast script): the order they were saved in.
        query = query.order_by(EvalRunRow.created_at, literal_column("eval_runs.rowid"))
        with self.db.reading() as s:
            return [to_eval_run(r) for r in s.scalars(query).all()]

    # -- verdicts -------------------------------------------------------------------------

    def add_results(self, results: Sequence[EvalResult]) -> None:
        """Save a batch of verdicts in one transaction: all of them or, if one cannot be saved
        (an output or run that does not exist, an output that already has a verdict), none,
        with a StoreError naming the problem."""
        results = list(results)
        if not results:
            return
        where = str(self.db.path)
        with self.db.transaction() as s:
            s.flush()  # outputs added earlier in the same transaction are in the table first
            problem = missing_reference(s, results, RESULT_REFERENCES, "verdict")
            if problem is None:
                problem = already_judged(s, results)
            if problem is not None:
                raise StoreError(f"Cannot save to {where}: {problem}. Nothing was changed.")
            rows = driver_rows(RESULTS, [result_values(r) for r in results],
                               s.connection().dialect)
            insert_batch(s, RESULTS, rows, where, "verdict")

    def replace_result(self, result: EvalResult) -> EvalResult:
        """Save the verdict of a re-evaluated output in place of its earlier one (if any)."""
        with self.db.transaction() as s:
            s.execute(delete(EvalResultRow).where(EvalResultRow.output_id == result.output_id))
            self.add_results([result])  # joins this transaction: the swap is all or nothing
        return result

    def results(self, run_id: str) -> list[EvalResult]:
        """The run's verdicts, in the order the outputs were saved."""
        with self.db.reading() as s:
            rows = s.execute(select(EvalResultRow, OutputRow.branch_of)
                             .where(EvalResultRow.run_id == run_id)
                             .join(OutputRow, OutputRow.id == EvalResultRow.output_id)
                             .order_by(literal_column("outputs.rowid"))).all()
            return [to_result(row, branch_of) for row, branch_of in rows]

    def result_batches(self, run_id: str, size: int = 500) -> Iterator[list[EvalResult]]:
        """``results`` ``size`` at a time, in the same order: a whole run's verdicts cost one
        batch of memory (the report at a run's end)."""
        statement = (select(*RESULTS.c, OutputRow.branch_of.label("output_branch_of"))
                     .where(EvalResultRow.run_id == run_id)
                     .join(OutputRow, OutputRow.id == EvalResultRow.output_id)
                     .order_by(literal_column("outputs.rowid")))
        for rows in self.db.batches(statement, size):
            yield [to_result(row, row.output_branch_of) for row in rows]

    def cells(self, run_id: str, size: int = 500) -> Iterator[VerdictCell]:
        """Each verdict of the run as its cell and figures only (no checks, no reasons), in
        ``results``' order: enough to tell which verdict of a cell counts."""
        statement = (select(EvalResultRow.output_id, EvalResultRow.variant_id,
                            EvalResultRow.case_id, EvalResultRow.repeat, OutputRow.branch_of,
                            EvalResultRow.passed, EvalResultRow.score)
                     .where(EvalResultRow.run_id == run_id)
                     .join(OutputRow, OutputRow.id == EvalResultRow.output_id)
                     .order_by(literal_column("outputs.rowid")))
        for rows in self.db.batches(statement, size):
            yield from (VerdictCell(*row) for row in rows)

    def results_for(self, output_ids: Sequence[str]) -> dict[str, EvalResult]:
        """Output id -> its verdict, for those of ``output_ids`` that have one (a batch of an
        export's rows)."""
        ids = list(output_ids)
        found: dict[str, EvalResult] = {}
        with self.db.reading() as s:
            for start in range(0, len(ids), CHUNK):  # table rows: no ORM objects to build
                rows = s.execute(select(*RESULTS.c, OutputRow.branch_of.label("output_branch_of"))
                                 .join(OutputRow, OutputRow.id == EvalResultRow.output_id)
                                 .where(EvalResultRow.output_id.in_(ids[start:start + CHUNK])))
                found.update((row.output_id, to_result(row, row.output_branch_of))
                             for row in rows)
        return found

    def result_for_output(self, output_id: str) -> EvalResult | None:
        """The output's verdict, or None if it was not evaluated."""
        with self.db.reading() as s:
            found = s.execute(select(EvalResultRow, OutputRow.branch_of)
                              .join(OutputRow, OutputRow.id == EvalResultRow.output_id)
                              .where(EvalResultRow.output_id == output_id)).first()
            return None if found is None else to_result(*found)
