"""Opening the session database file as it is: durability settings and corruption. Bringing
its schema to head is opening.py's (Store.open), through migrate.py.

Durability choices (see docs/storage.md):
* WAL journal: readers never block the writer, and a crash never leaves a half-written page.
* synchronous=NORMAL: in WAL mode a commit survives any crash of the app (SIGKILL, a GGML abort
  taking the process down); only a power cut or OS crash can lose the last commits, never
  corrupt the file. FULL would fsync on every commit, which costs ~10x on output-heavy runs.
* foreign_keys=ON and busy_timeout=5 s on every connection.
* One transaction per user action (``Database.transaction``), begun IMMEDIATE so two writers
  queue on the busy timeout instead of failing half-way.

The DBAPI module is ``sqlean`` (sqlean.py: a drop-in ``sqlite3`` built with extension loading,
which this Python's ``sqlite3`` lacks), so that every connection can load ``sqlite-vec`` for
the retrieval lab's vectors. The file format is SQLite's own: the standard ``sqlite3`` module
still opens the file (only the ``vec_*`` tables need the extension).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlean
import sqlite_vec
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..core.errors import CorruptDatabaseError, StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"


class _ReadingFlag(threading.local):
    """Whether this thread's transaction, about to begin, is a read-only one (``reading``)."""

    active = False


_READING = _ReadingFlag()


class Database:
    """An open database file. Thread-safe: each thread gets its own transaction."""

    def __init__(self, path: Path, engine: Engine, *, read_only: bool, notices: list[str]):
        self.path = path
        self.engine = engine
        self.read_only = read_only
        self.notices = notices  # things the user should be told, e.g. a file set aside
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work that may write. It takes SQLite's write lock at its start (BEGIN
        IMMEDIATE), so it never fails half-way for a write another connection made since its
        first read; it waits (busy_timeout) while another connection writes. Nested calls in
        the same thread join the outer transaction."""
        with self._unit(reading=False) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One unit of work that only reads: a snapshot that never waits for a writer (WAL), so
        the window's reads do not stall behind a run's writes. SQLite refuses any write in it
        (query_only). Inside a ``transaction`` it joins that transaction."""
        with self._unit(reading=True) as session:
            yield session

    @contextmanager
    def _unit(self, *, reading: bool) -> Iterator[Session]:
        current = getattr(self._local, "session", None)
        if current is not None:
            if not reading and current.info.get("reading"):
                raise RuntimeError("A write transaction cannot start inside a read-only one.")
            yield current
            return
        session = self._sessions(info={"reading": reading})
        self._local.session = session
        _READING.active = reading  # read by the begin listener, which runs in this thread
        try:
            with translate_errors(self.path):
                with session.begin():
                    yield session
        finally:
            _READING.active = False
            self._local.session = None
            session.close()

    def batches(self, statement, size: int = 500) -> Iterator[list]:
        """The statement's rows, ``size`` at a time, read in one snapshot: what a whole run's
        rows cost in memory is one batch, whatever the run's size (an export, a report).

        The cursor stays open between batches, so the snapshot is a session of its own, not
        this thread's: the caller may read (or write) through the store while it iterates.
        Inside this thread's ``transaction`` it reads through that one instead, so rows not
        yet committed are seen. Rows are Core rows (attributes by column name), never ORM
        objects with their identity map and state."""
        current = getattr(self._local, "session", None)
        if current is not None:
            yield from current.execute(statement.execution_options(yield_per=size)).partitions()
            return
        session = self._sessions(info={"reading": True})
        try:
            with translate_errors(self.path):
                _READING.active = True  # the begin listener makes it a read-only snapshot
                try:
                    session.begin()
                    result = session.execute(statement.execution_options(yield_per=size))
                finally:
                    _READING.active = False
                yield from result.partitions()
        finally:
            session.close()

    def integrity_check(self) -> str:
        with self.engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA integrity_check").scalar()

    def revision(self) -> str | None:
        """The schema revision Alembic recorded, read directly (Alembic is not imported)."""
        with self.engine.connect() as connection:
            table = connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
            if table.first() is None:
                return None  # a new, empty file
            found = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version").scalars().all()
        if len(found) > 1:  # branches this app never makes: treat as an unknown (newer) schema
            return "+".join(sorted(found))
        return found[0] if found else None

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """SQLite's failures as sentences that say what happened and that nothing was lost."""
    try:
        yield
    except OperationalError as error:
        raise StoreError(describe_operational_error(path, error)) from None
    except IntegrityError as error:
        detail = str(error.orig)
        raise StoreError(f"Cannot save to {path}: {detail}. Nothing was changed.") from None


def describe_operational_error(path: Path, error: DBAPIError | sqlite3.Error) -> str:
    text = str(getattr(error, "orig", error)).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return (f"Cannot save to {path}: the disk is full. Nothing was changed; "
                "free some space and try again.")
    if "readonly" in text or "read-only" in text:
        return (f"Cannot save to {path}: the database is read-only "
                "(the file or its folder cannot be written). Nothing was changed.")
    if "locked" in text or "busy" in text:
        return (f"Cannot save to {path}: another program is writing to the database. "
                "Nothing was changed; try again.")
    if "unable to open" in text:
        return f"Cannot open the database {path}: the file or its folder cannot be opened."
    return f"The database {path} failed: {getattr(error, 'orig', error)}"


# -- opening ------------------------------------------------------------------------------

def open_database(path: Path, *, read_only: bool = False) -> Database:
    """The file as it is, its schema untouched (a damaged file is set aside, unless read-only)."""
    path = Path(path)
    notices: list[str] = []
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"Cannot create the folder {path.parent}: {error.strerror}.") from None
    if path.exists():
        problem = damage_of(path)
        if problem is not None:
            if read_only:
                raise CorruptDatabaseError(f"The database {path} is damaged ({problem}).")
            moved = set_aside(path)
            notices.append(f"The database {path} was damaged ({problem}). It was set aside as "
                           f"{moved} and a new, empty database was started.")
    elif read_only:
        raise StoreError(f"The database {path} does not exist.")
    return Database(path, _engine(path, read_only), read_only=read_only, notices=notices)


def _engine(path: Path, read_only: bool) -> Engine:
    url = f"sqlite:///file:{path}?mode=ro&uri=true" if read_only else f"sqlite:///{path}"
    engine = create_engine(url, module=sqlean, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        load_vector_extension(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        # sqlean's SQLite is built with recursive triggers on; the stdlib's (and the
        # triggers written for it) have them off.
        cursor.execute("PRAGMA recursive_triggers = OFF")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        reading = read_only or _READING.active
        # query_only is the connection's until changed, so it is set both ways on every begin,
        # and before BEGIN: SQLite refuses BEGIN IMMEDIATE while it is on.
        connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if reading else 'OFF'}")
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
        # References are checked at commit: within one user action rows may be added in any
        # order (the ORM does not sort inserts of unrelated mappers by foreign key).
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")

    return engine


def load_vector_extension(dbapi_connection) -> None:
    """sqlite-vec's ``vec0`` tables and functions on this connection; loading stays switched
    off otherwise (a query cannot load a library)."""
    dbapi_connection.enable_load_extension(True)
    try:
        sqlite_vec.load(dbapi_connection)
    finally:
        dbapi_connection.enable_load_extension(False)


def damage_of(path: Path) -> str | None:
    """Why the file is not a healthy SQLite database, or None if it is."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise StoreError(f"Cannot read the database {path}: {error.strerror}.") from None
    if not header:
        return None  # an empty file is a new database
    if header != SQLITE_MAGIC:
        return "it is not an SQLite database"
    try:
        # sqlean with sqlite-vec: the check also reads the vec0 tables' own.
        connection = sqlean.connect(f"file:{path}?mode=ro", uri=True)
        try:
            load_vector_extension(connection)
            result = connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            connection.close()
    except (sqlean.DatabaseError, sqlite3.DatabaseError) as error:
        return f"SQLite says: {error}"
    return None if result == "ok" else f"SQLite's check says: {result.splitlines()[0]}"


def set_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL files) out of the way; never delete it."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target
