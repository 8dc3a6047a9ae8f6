"""What the outcomes database holds for people, read straight from it (fault and scale tests)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select

from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Conversation, Person, Statement, Summary


class Stored(NamedTuple):
    """One person's statements (in order), number of summaries and conversation states."""

    statements: list[str]
    summaries: int
    statuses: list[str]


def stored_on_channel(db_url: str, channel: str) -> dict[str, Stored]:
    """What is stored for each person on ``channel``, by their channel user id."""
    engine = make_engine(db_url)
    result: dict[str, Stored] = {}
    try:
        with make_sessionmaker(engine).begin() as s:
            people = s.execute(select(Person).where(Person.channel == channel)).scalars().all()
            for person in people:
                conversations = (
                    s.execute(select(Conversation).where(Conversation.person_id == person.id))
                    .scalars()
                    .all()
                )
                ids = [c.id for c in conversations]
                statements = (
                    s.execute(
                        select(Statement.text)
                        .where(Statement.conversation_id.in_(ids))
                        .order_by(Statement.conversation_id, Statement.position)
                    )
                    .scalars()
                    .all()
                )
                summaries = s.execute(
                    select(func.count(Summary.id)).where(Summary.conversation_id.in_(ids))
                ).scalar_one()
                result[person.channel_user_id] = Stored(
                    list(statements), summaries, [c.status for c in conversations]
                )
    finally:
        engine.dispose()
    return result


def stored(db_url: str, sender: str) -> Stored:
    """Everything stored for ``sender`` (``channel:user``); KeyError if nothing is."""
    channel, user_id = sender.split(":", 1)
    return stored_on_channel(db_url, channel)[user_id]
