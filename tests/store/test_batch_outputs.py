"""Saving outputs as a run does (``add_output``, one at a time), many in one transaction: indexed
for search, stored as the ORM stores them, all or nothing."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.store.conftest import populate, save_outputs
from workbench.core.errors import StoreError
from workbench.core.runs import Output, Run, RunStatus, Variant
from workbench.core.sampling import SamplingSettings
from workbench.core.sessions import Session
from workbench.store import Store
from workbench.store.exchange import export_session, import_session
from workbench.store.schema import OutputRow


def batch(data, n: int, word: str = "quokka") -> list[Output]:
    variant = data.run.variants[1]
    return [Output(data.run.id, variant.id, data.case_set.cases[i % 2].id,
                   f"{word} answer number {i}", token_count=i, sampling=variant.sampling,
                   model_path=variant.model_path, engine_settings={"n_ctx": 2048})
            for i in range(n)]


def raw_rows(path, where: str = "") -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM outputs {where} ORDER BY id").fetchall()
    finally:
        connection.close()


def test_two_thousand_outputs_in_one_transaction_are_all_found(store):
    data = populate(store)
    outputs = batch(data, 2000)
    save_outputs(store, outputs)
    hits = store.search.search("quokka", limit=5000)
    assert {h.ref for h in hits} == {o.id for o in outputs}
    assert {h.title for h in hits} == {"v2"} and {h.session_id for h in hits} == {data.session.id}
    assert [h.ref for h in store.search.search("number 1234")] == [outputs[1234].id]
    saved = store.runs.outputs(data.run.id)
    assert sorted(saved[len(data.outputs):], key=lambda o: o.id) == sorted(outputs,
                                                                           key=lambda o: o.id)


def test_rows_are_stored_exactly_as_the_orm_stores_them(store):
    data = populate(store)
    variant = data.run.variants[0]
    template = Output(
        data.run.id, variant.id, None, "crème brûlée, « quoted » \n and 🦘", token_count=3,
        prompt_tokens=9, time_to_first_token_s=0.25, tokens_per_second=123.5,
        finish_reason="length", sampling=SamplingSettings(temperature=0.2, stop=("\n", "END")),
        seed=7, model_path="/m.gguf", model_sha256="cd" * 32, chat_template="{{ x }}",
        adapter_path="/a.gguf", adapter_scale=0.5,
        engine_settings={"n_ctx": 4096, "nested": {"list": [1, 2.5, None]}}, error="partial",
        created_at=datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))
    through_orm = replace(template, id="a" * 36)
    with store.transaction() as s:
        s.add(OutputRow(**{column: getattr(through_orm, column)
                           for column in OutputRow.__table__.c.keys()
                           if column not in ("sampling", "engine_settings")},
                        sampling=through_orm.sampling.to_dict(),
                        engine_settings=through_orm.engine_settings))
    store.runs.add_output(replace(template, id="c" * 36))
    orm, saved = raw_rows(store.db.path, "WHERE id IN ('" + "', '".join(
        ("a" * 36, "c" * 36)) + "')")
    assert saved[1:] == orm[1:]
    assert store.runs.output("c" * 36) == replace(template, id="c" * 36)


@pytest.mark.parametrize(("field", "value", "named"), [
    ("variant_id", "no-such-variant", "variant 'no-such-variant'"),
    ("run_id", "no-such-run", "run 'no-such-run'"),
    ("case_id", "no-such-case", "test case 'no-such-case'"),
])
def test_one_bad_row_saves_nothing_of_the_transaction_and_says_which(store, field, value,
                                                                     named):
    data = populate(store)
    before = raw_rows(store.db.path)
    outputs = batch(data, 500)
    outputs[321] = replace(outputs[321], **{field: value})
    with pytest.raises(StoreError) as caught:
        save_outputs(store, outputs)
    message = str(caught.value)
    assert f"output {outputs[321].id} refers to {named}, which does not exist" in message
    assert "Nothing was changed" in message
    assert raw_rows(store.db.path) == before  # nothing of the transaction, nothing else lost
    assert store.search.search("quokka") == []
    save_outputs(store, batch(data, 10, "wombat"))  # the store goes on working
    assert len(store.search.search("wombat")) == 10


def test_a_repeated_id_inside_a_larger_action_fails_alone(store):
    """The caller goes on after the error: the failed output leaves nothing behind (not even
    its search entry), and what the action saved before and after it is kept."""
    data = populate(store)
    first, second, third = batch(data, 3)
    with store.transaction():
        store.sessions.add(Session("kept"))
        store.runs.add_output(first)
        with pytest.raises(StoreError, match="1 output.*UNIQUE.*Nothing was changed"):
            store.runs.add_output(replace(second, id=first.id))
        store.runs.add_output(third)
    assert [s.name for s in store.sessions.list()].count("kept") == 1
    assert {h.ref for h in store.search.search("quokka")} == {first.id, third.id}
    assert len(store.runs.outputs(data.run.id)) == len(data.outputs) + 2


def test_a_run_and_its_outputs_in_one_transaction_are_indexed(store):
    data = populate(store)
    run_id = "run-together"
    variant = Variant(run_id, data.versions[0].id, "/models/smol.gguf", label="fresh")
    with store.transaction():
        store.runs.add(Run(data.session.id, "together", None, RunStatus.RUNNING, (variant,),
                           id=run_id))
        for i in range(5):
            store.runs.add_output(Output(run_id, variant.id, None, f"platypus {i}"))
    hits = store.search.search("platypus")
    assert len(hits) == 5 and {h.title for h in hits} == {"fresh"}


def test_unhashable_settings(store):
    data = populate(store)
    odd = SamplingSettings(stop=["a", "b"])  # a list where a tuple is expected: still saved
    output = Output(data.run.id, data.run.variants[0].id, None, "echidna", sampling=odd)
    save_outputs(store, [output, replace(output, id="x" * 36)])
    assert store.runs.output(output.id).sampling.stop == ("a", "b")


def test_saved_outputs_survive_export_and_import(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    outputs = batch(data, 1000)
    save_outputs(source, outputs)
    file = tmp_path / "session.json.gz"
    assert export_session(source.db, data.session.id, file)["outputs"] == 1004
    expected = source.runs.outputs(data.run.id)
    source.close()
    target = Store.open(tmp_path / "b.sqlite3")
    assert import_session(target.db, file).added["outputs"] == 1004
    assert sorted(target.runs.outputs(data.run.id), key=lambda o: o.id) == sorted(
        expected, key=lambda o: o.id)
    assert len(target.search.search("quokka", limit=5000)) == 1000
    target.close()
