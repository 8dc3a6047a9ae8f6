"""Bring the outcomes tables up to date: ``python -m bot migrate [--url URL]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from bot.settings import get_settings

HERE = Path(__file__).resolve().parent
ALEMBIC_INI = HERE / "alembic.ini"
MIGRATIONS_DIR = HERE / "migrations"

log = logging.getLogger(__name__)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for our migrations on ``url`` (default: ``DATABASE_URL``)."""
    url = url or get_settings().database_url
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates "%": escape it (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run ``alembic upgrade head`` on ``url`` (default: ``DATABASE_URL``)."""
    url = url or get_settings().database_url
    log.info("Migrating %s to %s", make_url(url).render_as_string(hide_password=True), revision)
    command.upgrade(alembic_config(url), revision)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot migrate``."""
    parser.add_argument(
        "--url", default=None, help="database URL (default: DATABASE_URL or var/outcomes.db)"
    )


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot migrate``; returns the exit code."""
    upgrade(getattr(args, "url", None))
    return 0
