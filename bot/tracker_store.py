"""Rasa's SQL tracker store, made to forget a conversation when the person deletes their data.

Rasa keeps every message in its tracker store. When a person asks us to delete what is
stored about them, ``action_delete_my_data`` removes our records; this store then removes the
conversation's events too, keeping only what happened from that action on (our own replies,
no words of theirs). Configured in ``endpoints.yml``.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import rasa_speedups
from bot.storage.db import sqlite_pool_options, tune_sqlite

if TYPE_CHECKING:
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Rasa imports this module at start-up (endpoints.yml), so its speed fix is installed here.
rasa_speedups.apply()

FORGET_ACTION = "action_delete_my_data"
# Conversations whose last saved tracker is kept in memory (per Rasa process).
CACHE_SIZE = 500


def forget_marker(tracker: DialogueStateTracker) -> int | None:
    """Index of the last ``action_delete_my_data`` in the tracker's events, if any."""
    marker = None
    for index, event in enumerate(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            marker = index
    return marker


@dataclass(frozen=True)
class _Saved:
    """A tracker as this process saved it, and how the database looked just after."""

    tracker: DialogueStateTracker
    length: int
    stamp: tuple[int, int | None]


class ForgetfulSQLTrackerStore(SQLTrackerStore):
    """An ``SQLTrackerStore`` that drops a conversation's history when its data is deleted.

    Its engine also checks a pooled connection before use (Rasa's does not, so the first
    turns after a PostgreSQL restart would fail) and, on SQLite, uses our pragmas (WAL) and
    keeps its connections open between turns (:func:`bot.storage.db.sqlite_pool_options`).

    It also remembers the tracker it last saved for each conversation. Rasa's store reads
    every event of the conversation and replays them on every message (a third of Rasa's
    time per turn here); when the database still holds exactly what this process saved
    (same number of events, same newest id: one indexed query) the saved tracker is used
    instead. Anything else (another Rasa instance answered in between, a turn that failed
    after changing the tracker, a new session, a deletion) reads the database as Rasa does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # creates Rasa's tables with Rasa's own engine
        url = self.engine.url
        self.engine.dispose()
        self.engine = tune_sqlite(
            sa.create_engine(
                url,
                pool_pre_ping=True,
                **create_engine_kwargs(url),
                **sqlite_pool_options(url.render_as_string(hide_password=False)),
            ),
            foreign_keys=False,
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._saved: OrderedDict[str, _Saved] = OrderedDict()
        self._saved_lock = threading.Lock()

    def _stamp(self, session: Session, sender_id: str) -> tuple[int, int | None]:
        """How many events the conversation has in the database, and the newest one's id."""
        count, newest = (
            session.query(sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.id))
            .filter(self.SQLEvent.sender_id == sender_id)
            .one()
        )
        return int(count), newest

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's tracker: the one saved here if the database has not moved on."""
        with self._saved_lock:
            saved = self._saved.get(sender_id)
        if saved is not None and len(saved.tracker.events) == saved.length:
            with self.session_scope() as session:
                if self._stamp(session, sender_id) == saved.stamp:
                    with self._saved_lock:
                        self._saved.move_to_end(sender_id, last=True)
                    return saved.tracker
        self._forget_saved(sender_id)
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Save as Rasa does, then remember the tracker if it is what the database now holds.

        When the tracker is the one this process saved and handed back on this turn, the
        database holds its first ``length`` events (checked when it was handed back; Rasa's
        lock keeps other instances out until the turn is saved), so only the rest are
        written, with no queries to count what is stored.
        """
        with self._saved_lock:
            saved = self._saved.pop(tracker.sender_id, None)
        marker = forget_marker(tracker)
        known = saved is not None and saved.tracker is tracker and marker is None
        await self.stream_events(tracker)
        with self.session_scope() as session:
            if known:
                new_events = list(itertools.islice(tracker.events, saved.length, None))
            else:
                new_events = list(self._additional_events(session, tracker))
            rows = [self._row(tracker.sender_id, event) for event in new_events]
            session.add_all(rows)
            session.flush()  # gives the rows their ids
            newest = max((row.id for row in rows), default=saved.stamp[1] if known else None)
            session.commit()
            if marker is not None:
                return  # never keep a deleted person's words in memory
            if known and not any(isinstance(e, SessionStarted) for e in new_events):
                stamp = (saved.stamp[0] + len(rows), newest)
            else:
                in_session = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
                if in_session != len(tracker.events):
                    return  # e.g. a new session started: the next read replays only that one
                stamp = self._stamp(session, tracker.sender_id)
        with self._saved_lock:
            self._saved[tracker.sender_id] = _Saved(tracker, len(tracker.events), stamp)
            while len(self._saved) > CACHE_SIZE:
                self._saved.popitem(last=False)

    def _row(self, sender_id: str, event: Event) -> Any:
        """The database row Rasa's ``SQLTrackerStore.save`` writes for ``event``."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _forget_saved(self, sender_id: str) -> None:
        with self._saved_lock:
            self._saved.pop(sender_id, None)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        marker = forget_marker(tracker)
        if marker is not None:
            # ``tracker.events`` is the latest session's: count what is stored of it.
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
            if stored <= marker:  # the deletion has not been written yet
                session.query(self.SQLEvent).filter(
                    self.SQLEvent.sender_id == tracker.sender_id
                ).delete(synchronize_session=False)
                logger.info("Forgot the conversation history of a person who deleted their data")
                return itertools.islice(tracker.events, marker, len(tracker.events))
        return super()._additional_events(session, tracker)
