"""The real assistant for a test: Rasa and the action server with fresh databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.servers import Servers, rasa_env, running_servers
from bot.storage.migrate import upgrade
from tests.ports import free_port


@contextmanager
def fresh_assistant(folder: Path) -> Iterator[tuple[Servers, str]]:
    """Both servers on free ports, with new SQLite databases (and logs) in ``folder``.

    Yields the running servers and the outcomes database's URL; stops them on exit.
    """
    db_url = f"sqlite:///{folder / 'outcomes.db'}"
    upgrade(db_url)
    rasa_port, actions_port = free_port(), free_port()
    env = rasa_env(
        rasa_port=rasa_port,
        actions_port=actions_port,
        extra={"DATABASE_URL": db_url, "TRACKER_DB_URL": f"sqlite:///{folder / 'tracker.db'}"},
    )
    with running_servers(
        rasa_port=rasa_port,
        actions_port=actions_port,
        env=env,
        log_dir=folder / "logs",
        timeout=180,
    ) as servers:
        yield servers, db_url
