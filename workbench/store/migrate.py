"""Bringing a database's schema to head with Alembic, behind a backup.

Only opening.py imports this module, and only when the database is not at head (a new file, or
the first start after an update): Alembic costs ~0.2 s to import, which an ordinary start
should not pay.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

# The store's own SQLite (database.py): two SQLite libraries in one process must never open
# the same file (their locks and WAL index are not shared; SQLite's "How To Corrupt", 2.2.1).
import sqlean as sqlite3
from alembic import command
from alembic.config import Config

from ..core.errors import NewerSchemaError, StoreError
from .database import Database, describe_operational_error, translate_errors
from .revisions import MIGRATIONS, head_revision, known_revisions


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to head. A database from a newer app is refused untouched."""
    current = database.revision()
    head = head_revision()
    if current == head:
        return
    if current is not None and current not in known_revisions():
        raise NewerSchemaError(
            f"The database {database.path} was written by a newer version of Prompt Workbench "
            f"(schema revision {current}; this version knows up to {head}). Nothing was "
            "changed; update Prompt Workbench to open it."
        )
    if database.read_only:
        raise StoreError(f"The database {database.path} needs an upgrade (revision {current} → "
                         f"{head}) but was opened read-only.")
    backup = backup_file(database.path, current) if current is not None else None
    try:
        with translate_errors(database.path), database.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as error:
        if backup is None:
            raise
        database.engine.dispose()
        restore(backup, database.path)
        raise StoreError(
            f"Upgrading the database {database.path} from revision {current} to {head} failed "
            f"({error}). It was restored from the backup {backup}; nothing was lost."
        ) from None


def backup_file(path: Path, revision: str | None) -> Path:
    """A consistent copy through SQLite's online backup API (safe while others read)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.backup-r{revision}-{stamp}{path.suffix}")
    source = sqlite3.connect(path)
    try:
        destination = sqlite3.connect(target)
        try:
            with translate_errors(path):
                try:
                    source.backup(destination)
                except sqlite3.OperationalError as error:
                    raise StoreError(describe_operational_error(path, error)) from None
        finally:
            destination.close()
    finally:
        source.close()
    return target


def restore(backup: Path, path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    shutil.copyfile(backup, path)
