"""Where people's words and the outcomes heard in them are kept (SQLAlchemy + Alembic).

Use :func:`session_scope` for a transaction and the functions in
:mod:`bot.storage.repository` inside it; ``python -m bot migrate`` creates the tables.
"""

from bot.storage.db import (
    default_sessionmaker,
    dispose_default,
    make_engine,
    make_sessionmaker,
    session_scope,
)

__all__ = [
    "default_sessionmaker",
    "dispose_default",
    "make_engine",
    "make_sessionmaker",
    "session_scope",
]
