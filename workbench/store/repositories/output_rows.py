"""Saving outputs (and their verdicts): one or thousands, in one statement, all or nothing.

An evaluation saves thousands of cells at once. The ORM's unit of work costs ~0.1 ms per row
(an object, its state, the identity map, sorting the flush) on top of what SQLite does, and
even Core's ``execute(insert, [dicts])`` spends ~10 µs per row matching dicts to parameters.
So the rows go to the driver's ``executemany`` on the session's own connection
(``exec_driver_sql``), as tuples in the order of the INSERT that SQLAlchemy compiles from the
table, each value converted by its column's own type (JSON, UTC datetimes): the stored bytes are
those Core and the ORM would store, which a test checks. (SQLAlchemy's "insertmanyvalues" is for
INSERT … RETURNING; nothing is returned here.) Token traces go to ``output_traces`` the same
way, in the same transaction. The full-text index is kept by the
``search_output_insert`` trigger, as for any insert. ``insert_batch`` and
``missing_reference`` take any table: the evaluation's verdicts (``eval_results``) are saved
the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...core.errors import StoreError
from ...core.runs import Output
from ..schema import OutputRow, OutputTraceRow

TABLE = OutputRow.__table__
TRACES = OutputTraceRow.__table__

# SQLite allows 32,766 variables per statement (3.32+); stay far below for older builds.
CHUNK = 900

# A reference column, the table it points at, and the word an error uses for it.
Reference = tuple[str, str, str]
REFERENCES: tuple[Reference, ...] = (
    ("run_id", "runs", "run"), ("variant_id", "variants", "variant"),
    ("case_id", "test_cases", "test case"))


def output_values(output: Output) -> dict[str, Any]:
    """The row as Python values, one per column of ``outputs``."""
    return {
        "id": output.id, "run_id": output.run_id, "variant_id": output.variant_id,
        "case_id": output.case_id, "text": output.text, "token_count": output.token_count,
        "prompt_tokens": output.prompt_tokens,
        "time_to_first_token_s": output.time_to_first_token_s,
        "tokens_per_second": output.tokens_per_second, "finish_reason": output.finish_reason,
        "sampling": output.sampling, "seed": output.seed, "model_path": output.model_path,
        "model_sha256": output.model_sha256, "chat_template": output.chat_template,
        "adapter_path": output.adapter_path, "adapter_scale": output.adapter_scale,
        "engine_settings": output.engine_settings, "error": output.error,
        "created_at": output.created_at, "total_s": output.total_s, "repeat": output.repeat,
        "branch_of": output.branch_of, "forced_tokens": list(output.forced_tokens),
    }


Converter = Callable[[Any], Any] | None


@lru_cache(maxsize=16)
def statement(table: Table, dialect: Dialect) -> tuple[str, tuple[tuple[str, Converter], ...]]:
    """The INSERT's SQL and, per parameter in order, its column and the type's converter."""
    compiled = insert(table).compile(dialect=dialect)
    keys = tuple(compiled.positiontup or ())
    if set(keys) != set(table.c.keys()):  # a dialect with named parameters would need dicts
        raise RuntimeError(f"Unexpected INSERT parameters for {table.name}: {keys}")
    return str(compiled), tuple(
        (key, table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) for key in keys)


def driver_rows(table: Table, values: Sequence[dict[str, Any]], dialect: Dialect) -> list[tuple]:
    """Rows given as one dict per row (every column), as the driver's parameter tuples."""
    columns = statement(table, dialect)[1]
    return [tuple(row[key] if convert is None else convert(row[key]) for key, convert in columns)
            for row in values]


def stored_sampling(settings, cache: dict, convert: Callable[[Any], Any]) -> Any:
    try:
        stored = cache.get(settings)
    except TypeError:  # e.g. ``stop`` given as a list: not hashable, so not shared
        return convert(settings.to_dict())
    if stored is None:
        stored = cache[settings] = convert(settings.to_dict())
    return stored


def parameters(outputs: Sequence[Output], dialect: Dialect) -> list[tuple]:
    columns = statement(TABLE, dialect)[1]
    sampling_json: dict = {}  # a batch shares a few settings: serialise each once
    convert_sampling = dict(columns)["sampling"] or (lambda value: value)
    rows = []
    for output in outputs:
        values = output_values(output)
        values["sampling"] = stored_sampling(output.sampling, sampling_json, convert_sampling)
        rows.append(tuple(values[key] if convert is None or key == "sampling"
                          else convert(values[key]) for key, convert in columns))
    return rows


def missing_reference(s: Session, items: Sequence[Any],
                      references: Sequence[Reference] = REFERENCES,
                      noun: str = "output") -> str | None:
    """The first reference to a row that does not exist, as words; None if all exist.

    Foreign keys are only checked at commit (deferred, see database.py), where SQLite says
    "FOREIGN KEY constraint failed" and nothing more. A batch refers to few distinct runs,
    variants and cases, so asking for them first is cheap (one query for a single output) and
    lets the error name the culprit. ``items`` are domain objects with the reference columns as
    attributes, and an ``id``.
    """
    wanted = [(column, table, value) for column, table, _ in references
              for value in sorted({getattr(o, column) for o in items} - {None}, key=str)]
    found: set[tuple[str, str]] = set()
    connection = s.connection()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        selects, values = [], []
        for column, table, _ in references:
            ids = [value for c, _, value in chunk if c == column]
            if ids:
                selects.append(f"SELECT '{column}', id FROM {table} "
                               f"WHERE id IN ({', '.join('?' * len(ids))})")
                values.extend(ids)
        rows = connection.exec_driver_sql(" UNION ALL ".join(selects), tuple(values))
        found.update((column, value) for column, value in rows)
    for item in items:
        for column, _, word in references:
            value = getattr(item, column)
            if value is not None and (column, value) not in found:
                return f"{noun} {item.id} refers to {word} {value!r}, which does not exist"
    return None


def insert_batch(s: Session, table: Table, rows: list[tuple], where: str, noun: str) -> None:
    """Run the table's INSERT for every row in the session's transaction: all or none."""
    sql = statement(table, s.connection().dialect)[0]
    try:
        if len(rows) == 1:  # one statement: SQLite undoes it whole if it fails
            s.connection().exec_driver_sql(sql, rows[0])
        else:
            # executemany runs the statement once per row: a failure at row k would leave the
            # rows before it in a transaction the caller may go on with. The savepoint undoes them.
            # (The ORM emits SAVEPOINT when asked for the connection inside the block.)
            with s.begin_nested():
                s.connection().exec_driver_sql(sql, rows)
    except IntegrityError as error:  # e.g. an id saved before: say which batch, not just why
        raise StoreError(f"Cannot save to {where}: {len(rows)} {noun}(s) could not be saved "
                         f"({error.orig}). Nothing was changed.") from None


def insert_outputs(s: Session, outputs: Sequence[Output], where: str) -> None:
    """Insert the outputs in the session's transaction; raise StoreError before any is saved
    if one of them cannot be."""
    if not outputs:
        return
    # Rows the ORM still holds (a run and its variants added in the same transaction) must be
    # in the tables first: the index trigger reads the variant's label and the run's session.
    s.flush()
    problem = missing_reference(s, outputs)
    if problem is not None:
        raise StoreError(f"Cannot save to {where}: {problem}. Nothing was changed.")
    dialect = s.connection().dialect
    insert_batch(s, TABLE, parameters(outputs, dialect), where, "output")
    traces = [{"output_id": o.id, "trace": o.token_trace.pack()}
              for o in outputs if o.token_trace is not None]
    if traces:  # in the same transaction: an output and its trace are saved together or not
        insert_batch(s, TRACES, driver_rows(TRACES, traces, dialect), where, "token trace")
