"""Rasa's SQL tracker store, made to forget a conversation when the person deletes their data.

Rasa keeps every message in its tracker store. When a person asks us to delete what is
stored about them, ``action_delete_my_data`` removes our records; this store then removes the
conversation's events too, keeping only what happened from that action on (our own replies,
no words of theirs). Configured in ``endpoints.yml``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import ActionExecuted

from bot import rasa_speedups
from bot.storage.db import tune_sqlite

if TYPE_CHECKING:
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Rasa imports this module at start-up (endpoints.yml), so its speed fix is installed here.
rasa_speedups.apply()

FORGET_ACTION = "action_delete_my_data"


def forget_marker(tracker: DialogueStateTracker) -> int | None:
    """Index of the last ``action_delete_my_data`` in the tracker's events, if any."""
    marker = None
    for index, event in enumerate(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            marker = index
    return marker


class ForgetfulSQLTrackerStore(SQLTrackerStore):
    """An ``SQLTrackerStore`` that drops a conversation's history when its data is deleted.

    Its engine also checks a pooled connection before use (Rasa's does not, so the first
    turns after a PostgreSQL restart would fail) and, on SQLite, uses our pragmas (WAL).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # creates Rasa's tables with Rasa's own engine
        url = self.engine.url
        self.engine.dispose()
        self.engine = tune_sqlite(
            sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url)),
            foreign_keys=False,
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        marker = forget_marker(tracker)
        if marker is not None:
            stored = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == tracker.sender_id)
                .count()
            )
            if stored <= marker:  # the deletion has not been written yet
                session.query(self.SQLEvent).filter(
                    self.SQLEvent.sender_id == tracker.sender_id
                ).delete(synchronize_session=False)
                logger.info("Forgot the conversation history of a person who deleted their data")
                return itertools.islice(tracker.events, marker, len(tracker.events))
        return super()._additional_events(session, tracker)
