"""Token traces and branches in the store: stored and read back exactly, loaded only when asked
for, older outputs and databases (revision 0004) and exports (format 2) still fine."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import event

from tests.store.conftest import populate, save_outputs
from tests.store.test_migrations import migrate_to
from workbench.core.errors import NotFoundError
from workbench.core.runs import Output
from workbench.core.tokens import Alternative, TokenInfo, TokenTrace
from workbench.store import Store
from workbench.store.exchange import FORMAT_VERSION, export_session, import_session
from workbench.store.revisions import head_revision
from workbench.store.schema import OutputRow, OutputTraceRow

# "Le 🦘 est là" as a tokenizer might split it: the kangaroo's four bytes over two tokens, an
# accented letter, a forced token, a position without a captured log-probability.
TRACE = TokenTrace((
    TokenInfo(100, b"Le", -0.25, (Alternative(100, b"Le", -0.25), Alternative(7, b"La", -1.5))),
    TokenInfo(101, b" \xf0\x9f", -1.0, (Alternative(101, b" \xf0\x9f", -1.0),
                                        Alternative(8, b" k", -2.0),
                                        Alternative(9, b"", -3.0))),
    TokenInfo(102, b"\xa6\x98", 0.0, (Alternative(102, b"\xa6\x98", 0.0),)),
    TokenInfo(103, b" est", -3.5, (), forced=True),
    TokenInfo(104, b" l\xc3\xa0", None),
))


def traced_output(data, trace: TokenTrace = TRACE, **fields) -> Output:
    variant = data.run.variants[0]
    return Output(data.run.id, variant.id, data.case_set.cases[0].id, trace.text,
                  token_count=len(trace.tokens), sampling=variant.sampling,
                  model_path=variant.model_path, token_trace=trace, **fields)


def test_a_trace_is_stored_and_read_back_exactly(store):
    data = populate(store)
    assert TRACE.text == "Le 🦘 est là" and TokenTrace.unpack(TRACE.pack()) == TRACE
    single = store.runs.add_output(traced_output(data))
    batch = [traced_output(data, forced_tokens=(100, 7), branch_of=single.id) for _ in range(3)]
    save_outputs(store, batch)
    assert store.runs.token_trace(single.id) == TRACE
    assert all(store.runs.token_trace(o.id) == TRACE for o in batch)
    back = store.runs.output(batch[0].id, with_trace=True)
    assert back.token_trace == TRACE and back.token_trace.data == back.text.encode()
    assert (back.branch_of, back.forced_tokens) == (single.id, (100, 7))
    # Outputs from before traces: none, and they still load.
    assert store.runs.token_trace(data.outputs[0].id) is None
    assert store.runs.output(data.outputs[0].id, with_trace=True).token_trace is None
    assert store.runs.traced([o.id for o in data.outputs] + [single.id]) == {single.id}
    with pytest.raises(NotFoundError, match="No output with id nope"):
        store.runs.token_trace("nope")


def test_add_output_stores_a_trace_as_the_orm_does(store):
    data = populate(store)
    template = traced_output(data, forced_tokens=(1, 2, 3), branch_of=data.outputs[0].id)
    orm_id, saved_id = "a" * 36, "b" * 36
    with store.transaction() as s:
        values = {column: getattr(template, column) for column in OutputRow.__table__.c.keys()
                  if column not in ("sampling", "id")}
        s.add(OutputRow(**values, id=orm_id, sampling=template.sampling.to_dict()))
        s.flush()
        s.add(OutputTraceRow(output_id=orm_id, trace=TRACE.pack()))
    store.runs.add_output(replace(template, id=saved_id))
    connection = sqlite3.connect(store.db.path)
    rows = connection.execute("SELECT * FROM outputs WHERE id IN (?, ?) ORDER BY id",
                              (orm_id, saved_id)).fetchall()
    traces = connection.execute("SELECT * FROM output_traces WHERE output_id IN (?, ?) "
                                "ORDER BY output_id", (orm_id, saved_id)).fetchall()
    connection.close()
    assert rows[0][1:] == rows[1][1:]
    assert traces[0][1:] == traces[1][1:] == (TRACE.pack(),)


def test_reading_a_grid_does_not_read_the_traces(store):
    data = populate(store)
    added = [traced_output(data) for _ in range(20)]
    save_outputs(store, added)
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        outputs = store.runs.outputs(data.run.id)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)
    assert len(outputs) == len(data.outputs) + 20
    assert all(o.token_trace is None for o in outputs)  # not loaded …
    assert len([s for s in statements if "FROM outputs" in s]) == 1
    assert not [s for s in statements if "output_traces" in s]  # … not even looked at
    assert store.runs.traced([o.id for o in outputs]) == {o.id for o in added}


def test_a_database_at_0004_upgrades_and_keeps_its_outputs(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate_to(path, "0004")
    when = "'2025-01-01T00:00:00+00:00'"
    raw = sqlite3.connect(path)
    raw.executescript(f"""
        INSERT INTO sessions VALUES ('s1', 'Old session', '', {when}, {when});
        INSERT INTO prompts VALUES ('p1', 's1', 'translate', {when});
        INSERT INTO prompt_versions VALUES ('v1', 'p1', 'Translate.', '[]', '{{{{w}}}}',
            '["w"]', 'hash', NULL, '', {when});
        INSERT INTO runs VALUES ('r1', 's1', 'old run', NULL, 'done', {when}, {when});
        INSERT INTO variants VALUES ('va1', 'r1', 0, 'greedy', 'v1', '/m.gguf', NULL, '{{}}',
            NULL, 1.0, '{{}}');
        INSERT INTO outputs (id, run_id, variant_id, case_id, text, token_count, prompt_tokens,
            finish_reason, sampling, model_path, engine_settings, created_at, repeat)
            VALUES ('o1', 'r1', 'va1', NULL, 'un cheval galopant', 3, 9, 'stop', '{{}}',
            '/m.gguf', '{{}}', {when}, 2);
    """)
    raw.commit()
    raw.close()
    store = Store.open(path)
    assert store.db.revision() == head_revision()
    assert list(tmp_path.glob("old.backup-r0004-*.sqlite3"))
    old = store.runs.output("o1", with_trace=True)
    assert (old.text, old.repeat, old.token_trace, old.branch_of, old.forced_tokens) == (
        "un cheval galopant", 2, None, None, ())
    assert [h.ref for h in store.search.search("galopant")] == ["o1"]  # triggers intact
    branch = store.runs.add_output(Output("r1", "va1", None, TRACE.text, token_trace=TRACE,
                                          branch_of="o1", forced_tokens=(100,)))
    assert store.runs.output(branch.id, with_trace=True).token_trace == TRACE
    assert [o.id for o in store.runs.outputs("r1")] == ["o1", branch.id]
    store.close()


def test_an_export_keeps_traces_and_branches(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    parent = source.runs.add_output(traced_output(data))
    child = source.runs.add_output(traced_output(data, branch_of=parent.id, forced_tokens=(7,)))
    file = tmp_path / "session.json.gz"
    export_session(source.db, data.session.id, file)
    source.close()
    target = Store.open(tmp_path / "b.sqlite3")
    result = import_session(target.db, file)
    assert result.added["outputs"] == len(data.outputs) + 2
    assert target.runs.token_trace(parent.id) == TRACE
    back = target.runs.output(child.id, with_trace=True)
    assert (back.token_trace, back.branch_of, back.forced_tokens) == (TRACE, parent.id, (7,))
    assert target.runs.token_trace(data.outputs[0].id) is None
    target.close()


def test_an_export_from_before_traces_still_imports(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    file = tmp_path / "old.json"
    export_session(source.db, data.session.id, file)
    source.close()
    document = json.loads(file.read_text())
    assert document["format_version"] == FORMAT_VERSION == 6
    # What the previous version wrote: format 2, none of revision 0005's columns and tables.
    document["format_version"], document["schema_revision"] = 2, "0004"
    del document["tables"]["output_traces"]
    for record in document["tables"]["outputs"]:
        for column in ("branch_of", "forced_tokens"):
            del record[column]
    file.write_text(json.dumps(document))
    target = Store.open(tmp_path / "b.sqlite3")
    assert import_session(target.db, file).added["outputs"] == len(data.outputs)
    assert target.runs.outputs(data.run.id) == data.outputs
    assert all(target.runs.token_trace(o.id) is None for o in data.outputs)
    target.close()
