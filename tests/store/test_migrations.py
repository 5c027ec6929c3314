"""Migrations: from empty, from the previous revision, a failed upgrade, a newer database."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from workbench.core.errors import NewerSchemaError, StoreError
from workbench.store import Store
from workbench.store.migrate import alembic_config
from workbench.store.revisions import head_revision
from workbench.store.schema import Base


def migrate_to(path, revision):
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_database_is_at_head_and_matches_the_orm_schema(tmp_path):
    store = Store.open(tmp_path / "new.sqlite3")
    assert store.db.revision() == head_revision() == "0009"
    with store.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # FTS5's own tables are not ORM tables.
    differences = [d for d in differences
                   if not (d[0] == "remove_table"
                           and d[1].name.startswith(("search_index", "chunks_fts")))]
    assert differences == []
    with store.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    store.close()


def test_upgrade_from_the_previous_revision_keeps_data_and_indexes_it(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate_to(path, "0001")
    raw = sqlite3.connect(path)
    raw.executescript("""
        INSERT INTO sessions VALUES ('s1', 'Old session', '', '2025-01-01T00:00:00+00:00',
                                     '2025-01-01T00:00:00+00:00');
        INSERT INTO prompts VALUES ('p1', 's1', 'summarise', '2025-01-01T00:00:00+00:00');
        INSERT INTO prompt_versions VALUES ('v1', 'p1', 'Summarise tersely.', '[]',
            'Text: {{text}}', '["text"]', 'hash', NULL, '', '2025-01-01T00:00:00+00:00');
    """)
    raw.commit()
    raw.close()
    store = Store.open(path)
    assert store.db.revision() == head_revision()
    assert store.sessions.get("s1").name == "Old session"
    assert [h.ref for h in store.search.search("tersely")] == ["v1"]
    backups = list(tmp_path.glob("old.backup-r0001-*.sqlite3"))
    assert len(backups) == 1  # taken before migrating
    check = sqlite3.connect(backups[0])
    assert check.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    check.close()
    store.close()


def test_a_failed_upgrade_is_restored_from_the_backup(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate_to(path, "0001")
    raw = sqlite3.connect(path)
    # Something in the way of revision 0002, which creates this table.
    raw.execute("CREATE TABLE drafts (x INTEGER)")
    raw.execute("INSERT INTO sessions VALUES ('s1', 'Keep me', '', '2025-01-01T00:00:00+00:00',"
                " '2025-01-01T00:00:00+00:00')")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="restored from the backup") as caught:
        Store.open(path)
    assert "from revision 0001 to 0009 failed" in str(caught.value)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    assert raw.execute("SELECT name FROM sessions").fetchone()[0] == "Keep me"
    raw.close()


def test_a_database_from_a_newer_app_is_refused_untouched(tmp_path):
    path = tmp_path / "future.sqlite3"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = '0099'")
    raw.commit()
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    before = digest(path)
    with pytest.raises(NewerSchemaError, match="newer version of Prompt Workbench") as caught:
        Store.open(path)
    assert "0099" in str(caught.value) and "Nothing was changed" in str(caught.value)
    assert digest(path) == before


def test_upgrade_from_0002_gives_old_sessions_no_stored_variants(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate_to(path, "0002")
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO sessions VALUES ('s1', 'Old session', '', "
                "'2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00')")
    raw.commit()
    raw.close()
    store = Store.open(path)
    assert store.db.revision() == head_revision()
    assert store.session_variants.get("s1") is None  # the window shows its defaults
    store.close()
