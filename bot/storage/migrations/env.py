"""Alembic environment for the outcomes tables.

The URL comes from the Alembic config (set by :func:`bot.storage.migrate.upgrade`) or else
from ``bot.settings``; the schema from :mod:`bot.storage.models`. Only tables named ``po_*``
are ours: Rasa's tracker tables may share the database and autogenerate must ignore them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bot.settings import get_settings
from bot.storage.db import make_engine
from bot.storage.models import TABLE_PREFIX, UTCDateTime, metadata

VERSION_TABLE = f"{TABLE_PREFIX}alembic_version"

config = context.config


def include_name(name, type_, parent_names) -> bool:
    """Consider only our own tables (and everything inside them)."""
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX)
    return True


def render_item(type_, obj, autogen_context):
    """Write our UTC datetime type as a plain ``sa.DateTime(timezone=True)`` in migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _options(is_sqlite: bool) -> dict:
    return {
        "target_metadata": metadata,
        "include_name": include_name,
        "render_item": render_item,
        "version_table": VERSION_TABLE,
        "compare_type": True,
        "render_as_batch": is_sqlite,
    }


def run_migrations_offline() -> None:
    """Emit SQL to standard output instead of running it (``alembic upgrade --sql``)."""
    url = _url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        # Off outside any transaction (the pragma is ignored inside one); see make_engine.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, **_options(is_sqlite))
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite:
        broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
        if broken:
            raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")


def run_migrations_online() -> None:
    """Run the migrations on a connection passed in ``config.attributes`` or a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
