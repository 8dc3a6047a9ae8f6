"""Loading what the FHIR resources are made from, a few hundred people at a time.

A **goal** is one statement-outcome pair the person confirmed or removed (tags still only
suggested, in a conversation not yet confirmed, are not goals). Filters are the export's
:class:`~bot.storage.repository.StatementFilter`, applied per statement-outcome pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot.storage.models import (
    Conversation,
    OutcomeReview,
    OutcomeStatus,
    OutcomeTag,
    Person,
    PractitionerNote,
    ReviewEntry,
    Statement,
)
from bot.storage.repository import StatementFilter, statement_conditions

GOAL_TAG_STATES = ("confirmed", "removed")
CHUNK = 400  # people per round of queries (keeps IN lists well under SQLite's limit)

GoalKey = tuple[int, str]  # (statement id, outcome id)


def goal_id(statement_id: int, outcome_id: str) -> str:
    """The Goal's FHIR id (FHIR ids allow no underscores): ``st12-seeing-people``."""
    return f"st{statement_id}-{outcome_id.replace('_', '-')}"


def parse_goal_id(value: str) -> GoalKey | None:
    """``(statement id, outcome id)`` from a Goal id (``Goal/`` prefix allowed), or None."""
    value = value.removeprefix("Goal/")
    head, sep, rest = value.partition("-")
    number = head[2:]
    if not sep or not head.startswith("st") or not rest:
        return None
    if not (number.isascii() and number.isdigit() and len(number) <= 9):
        return None
    return int(number), rest.replace("-", "_")


@dataclass
class GoalRow:
    """One statement-outcome pair: the person's words and what became of the outcome."""

    statement_id: int
    outcome_id: str
    text: str
    conversation_id: int
    started_at: datetime
    states: set[str] = field(default_factory=set)

    @property
    def key(self) -> GoalKey:
        return (self.statement_id, self.outcome_id)

    @property
    def id(self) -> str:
        return goal_id(self.statement_id, self.outcome_id)

    @property
    def lifecycle(self) -> str:
        """``active`` while any of its tags is confirmed; ``cancelled`` once removed."""
        return "active" if "confirmed" in self.states else "cancelled"


@dataclass
class PersonRecord:
    """Everything one person's resources are built from. ``goals`` holds all their goals;
    ``included`` (None: all) says which of them go in this export."""

    person_id: int
    goals: list[GoalRow] = field(default_factory=list)
    included: set[GoalKey] | None = None
    statuses: dict[tuple[int, str], tuple[str, datetime]] = field(default_factory=dict)
    entries: list[ReviewEntry] = field(default_factory=list)
    notes: list[PractitionerNote] = field(default_factory=list)
    reviews: list[OutcomeReview] = field(default_factory=list)


def matching_goals(s: Session, filters: StatementFilter) -> dict[int, set[GoalKey]]:
    """``{person id: goal keys}`` for the statement-outcome pairs matching ``filters``."""
    query = (
        select(Person.id, Statement.id, OutcomeTag.outcome_id)
        .join(Conversation, Conversation.person_id == Person.id)
        .join(Statement, Statement.conversation_id == Conversation.id)
        .join(OutcomeTag, OutcomeTag.statement_id == Statement.id)
        .outerjoin(
            OutcomeStatus,
            and_(
                OutcomeStatus.conversation_id == Conversation.id,
                OutcomeStatus.outcome_id == OutcomeTag.outcome_id,
            ),
        )
        .where(OutcomeTag.state.in_(GOAL_TAG_STATES), *statement_conditions(filters))
    )
    found: dict[int, set[GoalKey]] = {}
    for person_id, statement_id, outcome_id in s.execute(query):
        found.setdefault(person_id, set()).add((statement_id, outcome_id))
    return found


def all_person_ids(s: Session) -> list[int]:
    """Everyone's id, in order."""
    return list(s.execute(select(Person.id).order_by(Person.id)).scalars())


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _load_chunk(s: Session, ids: list[int]) -> dict[int, PersonRecord]:
    records = {pid: PersonRecord(pid) for pid in ids}
    goals: dict[GoalKey, GoalRow] = {}
    rows = s.execute(
        select(
            Conversation.person_id,
            Conversation.id,
            Conversation.started_at,
            Statement.id,
            Statement.text,
            OutcomeTag.outcome_id,
            OutcomeTag.state,
        )
        .join(Statement, Statement.conversation_id == Conversation.id)
        .join(OutcomeTag, OutcomeTag.statement_id == Statement.id)
        .where(Conversation.person_id.in_(ids), OutcomeTag.state.in_(GOAL_TAG_STATES))
        .order_by(Conversation.started_at, Conversation.id, Statement.position, OutcomeTag.id)
    )
    for person_id, conversation_id, started_at, statement_id, text, outcome_id, state in rows:
        row = goals.get((statement_id, outcome_id))
        if row is None:
            row = goals[(statement_id, outcome_id)] = GoalRow(
                statement_id, outcome_id, text, conversation_id, started_at
            )
            records[person_id].goals.append(row)
        row.states.add(state)
    statuses = s.execute(
        select(
            Conversation.person_id,
            OutcomeStatus.conversation_id,
            OutcomeStatus.outcome_id,
            OutcomeStatus.status,
            OutcomeStatus.recorded_at,
        )
        .join(Conversation, OutcomeStatus.conversation_id == Conversation.id)
        .where(Conversation.person_id.in_(ids))
    )
    for person_id, conversation_id, outcome_id, status, recorded_at in statuses:
        records[person_id].statuses[(conversation_id, outcome_id)] = (status, recorded_at)
    for model, attr, order in (
        (ReviewEntry, "entries", (ReviewEntry.created_at, ReviewEntry.id)),
        (PractitionerNote, "notes", (PractitionerNote.created_at, PractitionerNote.id)),
        (OutcomeReview, "reviews", (OutcomeReview.reviewed_at, OutcomeReview.id)),
    ):
        query = select(model).where(model.person_id.in_(ids)).order_by(*order)
        for item in s.execute(query).scalars():
            getattr(records[item.person_id], attr).append(item)
    return records


def load_records(
    s: Session, person_ids: Iterable[int], only: dict[int, set[GoalKey]] | None = None
) -> Iterator[PersonRecord]:
    """Each person's record, in the order given; with ``only``, only those goals included."""
    for chunk in _chunks(list(person_ids)):
        loaded = _load_chunk(s, chunk)
        for pid in chunk:
            record = loaded[pid]
            if only is not None:
                record.included = only.get(pid, set())
            yield record
