"""Opening the session database at the schema this version writes: the file as it is
(database.py), then, only when its schema is behind (a new file, the first start after an
update), brought to head with Alembic behind a backup (migrate.py, imported only then: Alembic
costs ~0.2 s to import, which an ordinary start should not pay)."""

from __future__ import annotations

from pathlib import Path

from .database import Database, open_database
from .revisions import head_revision


def open_at_head(path: Path, *, read_only: bool = False) -> Database:
    database = open_database(path, read_only=read_only)
    try:
        if database.revision() != head_revision():
            from .migrate import upgrade

            upgrade(database)
    except BaseException:
        database.engine.dispose()
        raise
    return database
