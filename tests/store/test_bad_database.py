"""A corrupt, full or read-only database: a clear message, nothing overwritten or lost."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

from tests.store.conftest import populate
from workbench.core.errors import StoreError
from workbench.core.runs import Output
from workbench.core.sessions import Session
from workbench.store import Store


def test_a_file_that_is_not_a_database_is_set_aside(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    path.write_text("my shopping list")
    store = Store.open(path)
    aside = list(tmp_path.glob("workbench.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "my shopping list"  # never deleted
    assert len(store.notices) == 1
    assert str(aside[0]) in store.notices[0] and "not an SQLite database" in store.notices[0]
    store.sessions.add(Session("fresh start"))  # the new database works
    assert [s.name for s in store.sessions.list()] == ["fresh start"]
    store.close()


def test_a_damaged_database_is_set_aside(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    store = Store.open(path)
    for i in range(30):
        populate(store, f"session {i}")
    store.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 3 * page):  # scribble over many pages
        data[offset + 100 : offset + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))
    reopened = Store.open(path)
    assert reopened.notices and "was damaged" in reopened.notices[0]
    assert list(tmp_path.glob("workbench.sqlite3.corrupt-*"))
    assert reopened.sessions.list() == []
    reopened.close()


def test_a_full_disk_is_a_clear_error_and_changes_nothing(tmp_path):
    store = Store.open(tmp_path / "workbench.sqlite3")
    data = populate(store)
    with store.db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    store.db.engine.dispose()
    # SQLite reports SQLITE_FULL when the file may not grow: the same path as a full disk.
    event.listen(store.db.engine, "connect",
                 lambda conn, _: conn.execute(f"PRAGMA max_page_count = {pages + 1}"))
    big = Output(data.run.id, data.outputs[0].variant_id, None, "x" * 200_000)
    with pytest.raises(StoreError, match="the disk is full. Nothing was changed"):
        store.runs.add_output(big)
    assert len(store.runs.outputs(data.run.id)) == len(data.outputs)
    store.close()


def test_a_read_only_database_refuses_writes_clearly(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    populate(Store.open(path))
    store = Store.open(path, read_only=True)
    assert store.sessions.list()[0].name == "Translation"  # reading works
    with pytest.raises(StoreError, match="read-only.*Nothing was changed"):
        store.sessions.add(Session("new"))
    store.close()


def test_a_folder_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="Cannot create the folder"):
        Store.open(blocker / "sub" / "workbench.sqlite3")
