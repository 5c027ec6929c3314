"""Runs, their variants, and the outputs they produce (saved as they arrive)."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from sqlalchemy import delete, func, select

from ...core.errors import NotFoundError, StoreError
from ...core.ids import utc_now
from ...core.retrieval import RetrievalSettings
from ...core.runs import CANCELLED_FINISH, CellKey, Output, Run, RunStatus, Variant
from ...core.sampling import SamplingSettings
from ...core.tokens import TokenTrace
from ..database import Database
from ..schema import OutputRow, OutputTraceRow, RunRow, VariantRow
from .output_rows import insert_outputs


def to_variant(row: VariantRow) -> Variant:
    return Variant(
        run_id=row.run_id, prompt_version_id=row.prompt_version_id, model_path=row.model_path,
        sampling=SamplingSettings.from_dict(row.sampling), label=row.label,
        position=row.position, model_sha256=row.model_sha256, adapter_path=row.adapter_path,
        adapter_scale=row.adapter_scale, engine_settings=dict(row.engine_settings), id=row.id,
        retrieval=RetrievalSettings.from_dict(row.retrieval),
    )


def variant_row(variant: Variant, position: int) -> VariantRow:
    return VariantRow(
        id=variant.id, run_id=variant.run_id, position=position, label=variant.label,
        prompt_version_id=variant.prompt_version_id, model_path=variant.model_path,
        model_sha256=variant.model_sha256, sampling=variant.sampling.to_dict(),
        adapter_path=variant.adapter_path, adapter_scale=variant.adapter_scale,
        engine_settings=dict(variant.engine_settings), retrieval=variant.retrieval.to_dict(),
    )


def to_output(row: OutputRow) -> Output:
    return Output(
        run_id=row.run_id, variant_id=row.variant_id, case_id=row.case_id, text=row.text,
        token_count=row.token_count, prompt_tokens=row.prompt_tokens,
        time_to_first_token_s=row.time_to_first_token_s,
        tokens_per_second=row.tokens_per_second, finish_reason=row.finish_reason,
        sampling=SamplingSettings.from_dict(row.sampling), seed=row.seed,
        model_path=row.model_path, model_sha256=row.model_sha256,
        chat_template=row.chat_template, adapter_path=row.adapter_path,
        adapter_scale=row.adapter_scale, engine_settings=dict(row.engine_settings),
        error=row.error, id=row.id, created_at=row.created_at, total_s=row.total_s,
        repeat=row.repeat, branch_of=row.branch_of,
        forced_tokens=tuple(row.forced_tokens or ()),
        # token_trace stays None: a grid needs no traces (RunRepository.token_trace reads one).
    )


class RunRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, run: Run) -> Run:
        with self.db.transaction() as s:
            s.add(RunRow(id=run.id, session_id=run.session_id, name=run.name,
                         case_set_id=run.case_set_id, status=run.status.value,
                         created_at=run.created_at, finished_at=run.finished_at))
            s.flush()
            for position, variant in enumerate(run.variants):
                s.add(variant_row(replace(variant, run_id=run.id), position))
        return run

    def get(self, run_id: str) -> Run:
        with self.db.reading() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFoundError(f"No run with id {run_id}.")
            variants = s.scalars(select(VariantRow).where(VariantRow.run_id == run_id)
                                 .order_by(VariantRow.position)).all()
            return Run(session_id=row.session_id, name=row.name, case_set_id=row.case_set_id,
                       status=RunStatus(row.status), variants=tuple(to_variant(v) for v in variants),
                       id=row.id, created_at=row.created_at, finished_at=row.finished_at)

    def for_session(self, session_id: str) -> list[Run]:
        with self.db.reading() as s:
            ids = s.scalars(select(RunRow.id).where(RunRow.session_id == session_id)
                            .order_by(RunRow.created_at)).all()
            return [self.get(i) for i in ids]

    def listing(self, session_id: str) -> list[Run]:
        """A session's runs with their variants, newest first, in two queries (the run list
        above the grid reads it at every Run; ``for_session`` costs a query per run)."""
        with self.db.reading() as s:
            rows = s.scalars(select(RunRow).where(RunRow.session_id == session_id)
                             .order_by(RunRow.created_at.desc())).all()
            variants: dict[str, list[Variant]] = {row.id: [] for row in rows}
            if rows:
                for v in s.scalars(select(VariantRow).where(VariantRow.run_id.in_(list(variants)))
                                   .order_by(VariantRow.position)):
                    variants[v.run_id].append(to_variant(v))
            return [Run(session_id=row.session_id, name=row.name, case_set_id=row.case_set_id,
                        status=RunStatus(row.status), variants=tuple(variants[row.id]),
                        id=row.id, created_at=row.created_at, finished_at=row.finished_at)
                    for row in rows]

    def set_status(self, run_id: str, status: RunStatus) -> None:
        with self.db.transaction() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFoundError(f"No run with id {run_id}.")
            row.status = status.value
            if status in (RunStatus.DONE, RunStatus.CANCELLED, RunStatus.FAILED):
                row.finished_at = utc_now()

    def ids_with_status(self, status: RunStatus) -> list[str]:
        with self.db.reading() as s:
            return list(s.scalars(select(RunRow.id).where(RunRow.status == status.value)))

    def ids_starting_with(self, prefix: str) -> list[str]:
        with self.db.reading() as s:
            return list(s.scalars(select(RunRow.id).where(RunRow.id.startswith(prefix,
                                                                                autoescape=True))
                                  .limit(10)))

    def filled_cells(self, run_id: str) -> dict[CellKey, str]:
        """Each cell that has an output (branches left out) -> its latest finish reason, read
        without the outputs' texts: enough to count a run's progress or find what a resume
        must still generate."""
        with self.db.reading() as s:
            rows = s.execute(select(OutputRow.variant_id, OutputRow.case_id, OutputRow.repeat,
                                    OutputRow.finish_reason)
                             .where(OutputRow.run_id == run_id, OutputRow.branch_of.is_(None),
                                    OutputRow.case_id.is_not(None))
                             .order_by(OutputRow.created_at))
            return {CellKey(variant, case, repeat): finish
                    for variant, case, repeat, finish in rows}

    def remove_cancelled(self, run_id: str, cells: set[CellKey]) -> int:
        """Delete the stopped (cancelled) outputs of ``cells``, before a resume generates them
        again; their ratings, traces and verdicts go with them. Returns how many."""
        with self.db.transaction() as s:
            rows = s.execute(select(OutputRow.id, OutputRow.variant_id, OutputRow.case_id,
                                    OutputRow.repeat)
                             .where(OutputRow.run_id == run_id,
                                    OutputRow.finish_reason == CANCELLED_FINISH,
                                    OutputRow.branch_of.is_(None))).all()
            doomed = [row.id for row in rows
                      if CellKey(row.variant_id, row.case_id, row.repeat) in cells]
            for start in range(0, len(doomed), 500):
                s.execute(delete(OutputRow).where(OutputRow.id.in_(doomed[start:start + 500])))
            return len(doomed)

    def add_output(self, output: Output) -> Output:
        """Save one output as soon as it is complete (its own transaction)."""
        with self.db.transaction() as s:
            insert_outputs(s, [output], str(self.db.path))
        return output

    def outputs(self, run_id: str) -> list[Output]:
        """The run's outputs, oldest first (for the whole run at once, ``output_batches``)."""
        return [output for batch in self.output_batches(run_id) for output in batch]

    def output_batches(self, run_id: str, size: int = 500) -> Iterator[list[Output]]:
        """The run's outputs in ``outputs``' order, ``size`` at a time: a whole run's outputs
        cost one batch of memory (an export, a report). Read as table rows, not ORM objects:
        an ORM row kept beside its Output doubled what each output cost."""
        statement = (select(*OutputRow.__table__.c).where(OutputRow.run_id == run_id)
                     .order_by(OutputRow.created_at))
        for rows in self.db.batches(statement, size):
            yield [to_output(row) for row in rows]

    def outputs_by_id(self, output_ids: Sequence[str]) -> dict[str, Output]:
        """Output id -> output, for those of ``output_ids`` that exist (a batch of an
        export's rows)."""
        ids = list(output_ids)
        found: dict[str, Output] = {}
        for start in range(0, len(ids), 900):  # SQLite's variable limit
            statement = select(*OutputRow.__table__.c).where(
                OutputRow.id.in_(ids[start:start + 900]))
            for rows in self.db.batches(statement, 900):
                found.update((row.id, to_output(row)) for row in rows)
        return found

    def count_outputs(self, run_id: str) -> int:
        with self.db.reading() as s:
            return s.scalar(select(func.count()).select_from(OutputRow)
                            .where(OutputRow.run_id == run_id))

    def variants_of(self, run_id: str, output_ids: Iterable[str]) -> dict[str, str]:
        """Output id -> its variant, for those of ``output_ids`` that are outputs of the run
        and no branch (what a pairwise judgement between two of them says about variants)."""
        ids = sorted(set(output_ids))
        found: dict[str, str] = {}
        with self.db.reading() as s:
            for start in range(0, len(ids), 900):  # SQLite's variable limit
                rows = s.execute(select(OutputRow.id, OutputRow.variant_id).where(
                    OutputRow.run_id == run_id, OutputRow.branch_of.is_(None),
                    OutputRow.id.in_(ids[start:start + 900])))
                found.update((ident, variant) for ident, variant in rows)
        return found

    def output(self, output_id: str, *, with_trace: bool = False) -> Output:
        """One output; ``with_trace``: with its token trace (None if it has none)."""
        with self.db.reading() as s:
            row = s.get(OutputRow, output_id)
            if row is None:
                raise NotFoundError(f"No output with id {output_id}.")
            output = to_output(row)
        if with_trace:
            output = replace(output, token_trace=self.token_trace(output_id))
        return output

    def token_trace(self, output_id: str) -> TokenTrace | None:
        """The output's tokens as generated; None for an output stored without a trace (before
        the token inspector, a remote model's, a failed cell's)."""
        with self.db.reading() as s:
            data = s.scalar(select(OutputTraceRow.trace)
                            .where(OutputTraceRow.output_id == output_id))
            if data is None and s.get(OutputRow, output_id) is None:
                raise NotFoundError(f"No output with id {output_id}.")
        if data is None:
            return None
        try:
            return TokenTrace.unpack(data)
        except (ValueError, struct.error) as error:  # a newer format, or damaged bytes
            raise StoreError(f"The token trace of output {output_id} cannot be read: "
                             f"{error}.") from None

    def traced(self, output_ids: Sequence[str]) -> set[str]:
        """Which of the outputs have a token trace (without reading the traces)."""
        ids = list(output_ids)
        found: set[str] = set()
        with self.db.reading() as s:
            for start in range(0, len(ids), 900):  # SQLite's variable limit
                found.update(s.scalars(select(OutputTraceRow.output_id).where(
                    OutputTraceRow.output_id.in_(ids[start:start + 900]))))
        return found
