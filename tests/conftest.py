"""Shared fixtures. Storage: real databases, migrated to head for each test.

``db_url`` is an empty database: SQLite in ``tmp_path``, or a fresh schema (dropped after
the test) in a database created for this run on the PostgreSQL server at 127.0.0.1:5432,
which is started if it is down.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade

PG_SERVER_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def _pg_is_up(url: str) -> bool:
    engine = create_engine(
        url, future=True, poolclass=NullPool, connect_args={"connect_timeout": 2}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL maintenance database, starting the local cluster if needed."""
    if not _pg_is_up(PG_SERVER_URL):
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )
        deadline = time.monotonic() + 30
        while not _pg_is_up(PG_SERVER_URL):
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not come up at {PG_SERVER_URL}")
            time.sleep(0.5)
    return PG_SERVER_URL


@pytest.fixture(scope="session")
def pg_database_url(pg_server_url: str) -> Iterator[str]:
    """A uniquely named database for this test run, dropped at the end."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        pg_server_url, future=True, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def fresh_pg_schema(database_url: str) -> Iterator[str]:
    """Create an empty schema; yield a URL whose connections use only it; drop it afterwards.

    (A schema per test is ~0.3 s cheaper than a database per test.)
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, future=True, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database (no tables yet) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'outcomes.db'}"
    else:
        with fresh_pg_schema(request.getfixturevalue("pg_database_url")) as url:
            yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url`` after ``alembic upgrade head``."""
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_sessionmaker(db_engine: Engine) -> sessionmaker:
    """Session factory on the migrated database; use ``with db_sessionmaker.begin() as s``."""
    return make_sessionmaker(db_engine)


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Iterator[sessionmaker]:
    """The assistant's own database (``DATABASE_URL``) as a fresh, migrated SQLite file.

    Actions open it through ``bot.storage.db.session_scope()``; the test reads it back through
    the returned session factory.
    """
    from bot.settings import get_settings
    from bot.storage.db import dispose_default

    url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_default()
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
    dispose_default()
    get_settings.cache_clear()


@pytest.fixture
def encoder_dir(tmp_path, monkeypatch):
    """A private cache of tuned sentence encoders (``OUTCOME_ENCODER_DIR``), so tests that
    train on their own small data never touch ``var/outcome_encoder``."""
    from bot.settings import get_settings

    directory = tmp_path / "encoders"
    monkeypatch.setenv("OUTCOME_ENCODER_DIR", str(directory))
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()
