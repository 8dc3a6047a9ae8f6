"""Engines and sessions. Nothing here opens a database until it is first asked for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import get_settings

_lock = threading.Lock()
_default_engine: Engine | None = None
_default_sessionmaker: sessionmaker | None = None


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or ``None`` for other backends and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_pragmas(*, wal: bool, foreign_keys: bool):
    """A ``connect`` listener: WAL journal and the configured sync level (``SQLITE_SYNCHRONOUS``)
    for database files, and foreign keys on unless migrating.

    With SQLite's default rollback journal every commit waits for two fsyncs (~20 ms here,
    several per turn); in WAL mode with ``synchronous=NORMAL`` a commit survives any crash of
    our processes and costs well under a millisecond.
    """
    statements = []
    if wal:
        statements += [
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={get_settings().sqlite_synchronous}",
        ]
    if foreign_keys:
        statements.append("PRAGMA foreign_keys=ON")

    def on_connect(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    return on_connect


def sqlite_pool_options(url: str) -> dict:
    """``create_engine`` options that keep a SQLite file's connections open between
    transactions (none for other backends and in-memory databases).

    SQLAlchemy 1.4 gives a SQLite file a ``NullPool``: every transaction opens the file, sets
    the pragmas and closes it again, about a tenth of a turn's work in Rasa and in the action
    server (py-spy under ``make bench``). A ``QueuePool``, which SQLAlchemy 2.0 uses for files,
    keeps them; a pooled connection serves one thread at a time, so sqlite3's same-thread
    check is off, as 2.0 does.
    """
    if _sqlite_file(url) is None:
        return {}
    return {"poolclass": QueuePool, "connect_args": {"check_same_thread": False}}


def tune_sqlite(engine: Engine, *, foreign_keys: bool = True) -> Engine:
    """Set our SQLite pragmas on every new connection of ``engine`` (no-op for other backends)."""
    if engine.dialect.name == "sqlite":
        wal = _sqlite_file(engine.url.render_as_string(hide_password=False)) is not None
        event.listen(engine, "connect", _sqlite_pragmas(wal=wal, foreign_keys=foreign_keys))
    return engine


def make_engine(url: str | None = None, *, sqlite_foreign_keys: bool = True) -> Engine:
    """A 2.0-style engine for ``url`` (default: the configured ``DATABASE_URL``).

    For SQLite the database file's folder is created, the WAL journal is used (see
    :func:`tune_sqlite`) and foreign keys are switched on for every connection, so
    ``ON DELETE CASCADE`` works as it does on PostgreSQL. Migrations
    pass ``sqlite_foreign_keys=False``: SQLite's batch migrations drop and recreate tables,
    and dropping a table with foreign keys on would cascade-delete the rows that refer to it.
    """
    url = url or get_settings().database_url
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True, **sqlite_pool_options(url))
    return tune_sqlite(engine, foreign_keys=sqlite_foreign_keys)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def default_sessionmaker() -> sessionmaker:
    """The process-wide session factory for the configured database, created on first use."""
    global _default_engine, _default_sessionmaker
    if _default_sessionmaker is None:
        with _lock:
            if _default_sessionmaker is None:
                _default_engine = make_engine()
                _default_sessionmaker = make_sessionmaker(_default_engine)
    return _default_sessionmaker


def dispose_default() -> None:
    """Close the process-wide engine (if any) so the next use starts afresh (tests, forks)."""
    global _default_engine, _default_sessionmaker
    with _lock:
        if _default_engine is not None:
            _default_engine.dispose()
        _default_engine = None
        _default_sessionmaker = None


@contextmanager
def session_scope(sessionmaker: sessionmaker | None = None) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises."""
    factory = sessionmaker or default_sessionmaker()
    with factory.begin() as session:
        yield session
