"""Reads never wait for a writer: the window's reads do not stall while a run saves its cells.

A second process holds SQLite's write lock (an open BEGIN IMMEDIATE, as a run's transaction
does); the reads of this process still answer from their snapshot, while a write waits its
turn (busy_timeout) and a write inside a read-only unit is refused by SQLite itself.
"""

from __future__ import annotations

import threading

import pytest
import sqlean

from tests.store.conftest import populate
from workbench.core.errors import StoreError
from workbench.core.sessions import Session
from workbench.store import Store


@pytest.fixture
def locked(tmp_path):
    """A populated database and a second connection holding its write lock, uncommitted."""
    path = tmp_path / "workbench.sqlite3"
    store = Store.open(path)
    data = populate(store)
    # The store's own SQLite (sqlean): two SQLite libraries in one process do not see each
    # other's locks.
    writer = sqlean.connect(str(path), isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA busy_timeout = 5000")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE sessions SET name = 'renamed by the other writer'")
    yield store, data, writer
    writer.rollback()
    writer.close()
    store.close()


def test_reads_answer_while_another_connection_holds_the_write_lock(locked):
    store, data, _writer = locked
    answered = threading.Event()

    def read_everything_the_window_reads_after_a_run():
        store.runs.get(data.run.id)
        store.runs.outputs(data.run.id)
        store.prompts.history(data.versions[0].prompt_id)
        store.evaluations.results(data.run.id)
        store.sessions.list()
        answered.set()

    reader = threading.Thread(target=read_everything_the_window_reads_after_a_run, daemon=True)
    reader.start()
    # Generous: a read that waited for the lock would wait until the writer lets go (never,
    # here) or busy_timeout (5 s) and then fail; a snapshot read answers at once.
    assert answered.wait(4.5), "a read waited for another connection's write lock"
    assert store.sessions.get(data.session.id).name == data.session.name  # the snapshot


def test_a_write_waits_for_the_lock_and_then_saves(locked):
    store, _data, writer = locked
    done = threading.Event()
    threading.Thread(target=lambda: (store.sessions.add(Session("later")), done.set()),
                     daemon=True).start()
    assert not done.wait(0.3)  # queued behind the other writer, not failed
    writer.commit()
    assert done.wait(10)
    assert "later" in [s.name for s in store.sessions.list()]


def test_sqlite_refuses_a_write_inside_a_read_only_unit(store):
    populate(store)
    with pytest.raises(StoreError):
        with store.reading() as session:
            from workbench.store.schema import SessionRow

            session.query(SessionRow).update({"name": "written while reading"})
    assert "written while reading" not in [s.name for s in store.sessions.list()]


def test_a_repository_write_cannot_join_a_read_only_unit(store):
    with pytest.raises(RuntimeError, match="inside a read-only one"):
        with store.reading():
            store.sessions.add(Session("inside a read"))
    with store.transaction():  # a read inside a write joins it and sees its rows
        added = store.sessions.add(Session("inside a write"))
        assert store.sessions.get(added.id).name == "inside a write"
