"""What the review web app reads: people, one person's record, and counts across people.

Plain functions over a SQLAlchemy ``Session`` (no Flask here), built on the repository's
:class:`~bot.storage.repository.StatementFilter`. Removed outcome tags never count.

Counting rule (the same everywhere, so every number can be read back to its words): the unit
is a person and an outcome. Its *status* is what the person said in the latest conversation
(within the filters) where that outcome was heard; its *review* is the practitioner's latest
review. :func:`statements_behind` returns exactly the statements a count was made from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from bot.outcomes.framework import (
    CARER,
    CARER_GROUPS,
    GROUPS,
    OUTCOMES,
    PERSON_GROUPS,
    Group,
    groups_for_role,
)
from bot.storage import repository as repo
from bot.storage.models import (
    OUTCOME_STATUSES,
    REVIEW_STATUSES,
    Conversation,
    OutcomeReview,
    OutcomeStatus,
    OutcomeTag,
    Person,
    PractitionerNote,
    Statement,
)
from bot.storage.repository import StatementFilter, effective_role, statement_conditions

NO_STATUS = "none"
STATUS_KEYS = (*OUTCOME_STATUSES, NO_STATUS)
STATUS_LABELS = {
    "going_well": "Going well",
    "partly": "Partly",
    "not_yet": "Not yet",
    "skipped": "Skipped",
    NO_STATUS: "No status given",
}
REVIEW_LABELS = {"fully_met": "Fully met", "partly_met": "Partly met", "not_met": "Not met"}
NOT_WORKING = ("not_yet", "partly")


# ------------------------------------------------------------------------------ helpers


def _tag_query(*columns):
    """``columns`` from live tags joined to their statement, conversation, person and status."""
    return (
        select(*columns)
        .select_from(OutcomeTag)
        .join(Statement, OutcomeTag.statement_id == Statement.id)
        .join(Conversation, Statement.conversation_id == Conversation.id)
        .join(Person, Conversation.person_id == Person.id)
        .outerjoin(
            OutcomeStatus,
            and_(
                OutcomeStatus.conversation_id == Conversation.id,
                OutcomeStatus.outcome_id == OutcomeTag.outcome_id,
            ),
        )
        .where(OutcomeTag.state != "removed")
    )


def _without_status(f: StatementFilter) -> StatementFilter:
    return replace(f, status=None)


# -------------------------------------------------------------------------------- heard


@dataclass(frozen=True)
class Heard:
    """One person and one outcome heard from them, with its latest status and review."""

    person_id: int
    outcome_id: str
    group: str
    conversation_id: int  # the latest conversation (within the filters) it was heard in
    status: str  # one of STATUS_KEYS
    review: str | None


def heard(s: Session, f: StatementFilter) -> list[Heard]:
    """Every (person, outcome) with a live tag matching ``f`` (its ``status`` is ignored:
    filter the result on :attr:`Heard.status`)."""
    f = _without_status(f)
    query = _tag_query(
        Person.id,
        OutcomeTag.outcome_id,
        OutcomeTag.group,
        Conversation.started_at,
        Conversation.id,
        OutcomeStatus.status,
    ).where(*statement_conditions(f))
    query = query.group_by(
        Person.id,
        OutcomeTag.outcome_id,
        OutcomeTag.group,
        Conversation.started_at,
        Conversation.id,
        OutcomeStatus.status,
    )
    latest: dict[tuple[int, str], tuple] = {}
    for pid, oid, group, started, cid, status in s.execute(query):
        key = (pid, oid)
        if key not in latest or (started, cid) > latest[key][:2]:
            latest[key] = (started, cid, group, status)
    reviews = repo.latest_reviews(s, f.person_id)
    return [
        Heard(pid, oid, group, cid, status or NO_STATUS, reviews.get((pid, oid)))
        for (pid, oid), (_, cid, group, status) in sorted(latest.items())
    ]


# ------------------------------------------------------------------------------- counts


@dataclass
class OutcomeCount:
    """People (and statements) an outcome was heard from, by status and by review."""

    outcome_id: str
    people: int = 0
    statements: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_KEYS, 0))
    by_review: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REVIEW_STATUSES, 0))

    @property
    def label(self) -> str:
        return OUTCOMES[self.outcome_id].label

    @property
    def group(self) -> str:
        return OUTCOMES[self.outcome_id].group

    @property
    def not_working(self) -> int:
        """People for whom it is not yet or only partly happening."""
        return sum(self.by_status[k] for k in NOT_WORKING)

    @property
    def review_not_met(self) -> int:
        return self.by_review["not_met"] + self.by_review["partly_met"]


@dataclass
class GroupCount:
    """People (and statements) with any outcome of a group heard."""

    group: Group
    people: int = 0
    statements: int = 0


def _statement_counts(s: Session, f: StatementFilter, column) -> dict[str, int]:
    query = (
        _tag_query(column, func.count(func.distinct(Statement.id)))
        .where(*statement_conditions(_without_status(f)))
        .group_by(column)
    )
    return dict(s.execute(query).all())


def outcome_sets(role: str | None) -> list[tuple[str, dict[str, Group]]]:
    """The framework sets to show for ``role``: both when no role is chosen."""
    if role is None:
        return [("People who use services", PERSON_GROUPS), ("Unpaid carers", CARER_GROUPS)]
    if role == CARER:
        return [("Unpaid carers", CARER_GROUPS)]
    return [("People who use services", PERSON_GROUPS)]


def outcome_counts(
    s: Session, f: StatementFilter, heard_rows: list[Heard] | None = None
) -> dict[str, OutcomeCount]:
    """Counts for every outcome id (zero when not heard), in the framework's order.
    Pass ``heard_rows`` (from :func:`heard` with the same ``f``) to reuse them."""
    counts = {oid: OutcomeCount(oid) for oid in OUTCOMES}
    for h in heard(s, f) if heard_rows is None else heard_rows:
        c = counts[h.outcome_id]
        c.people += 1
        c.by_status[h.status] += 1
        if h.review is not None:
            c.by_review[h.review] += 1
    for oid, n in _statement_counts(s, f, OutcomeTag.outcome_id).items():
        counts[oid].statements = n
    return counts


def group_counts(
    s: Session, f: StatementFilter, heard_rows: list[Heard] | None = None
) -> dict[str, GroupCount]:
    """People and statements per group (a person counts once per group)."""
    counts = {gid: GroupCount(group) for gid, group in GROUPS.items()}
    people: dict[str, set[int]] = defaultdict(set)
    for h in heard(s, f) if heard_rows is None else heard_rows:
        people[h.group].add(h.person_id)
    for gid, ids in people.items():
        counts[gid].people = len(ids)
    for gid, n in _statement_counts(s, f, OutcomeTag.group).items():
        counts[gid].statements = n
    return counts


def top_outcomes(counts: dict[str, OutcomeCount], n: int = 5) -> dict[str, list[OutcomeCount]]:
    """The outcomes most often going well / not yet or partly / reviewed as met / not met."""

    def top(key) -> list[OutcomeCount]:
        ranked = sorted((c for c in counts.values() if key(c)), key=lambda c: (-key(c), c.label))
        return ranked[:n]

    return {
        "working": top(lambda c: c.by_status["going_well"]),
        "not_working": top(lambda c: c.not_working),
        "met": top(lambda c: c.by_review["fully_met"]),
        "not_met": top(lambda c: c.review_not_met),
    }


# ------------------------------------------------------------------ statements behind


@dataclass(frozen=True)
class StatementRow:
    """A statement behind a count, with who said it and when."""

    id: int
    text: str
    created_at: datetime
    person_id: int
    reference: str
    role: str | None
    outcome_ids: tuple[str, ...]


def statement_ids_behind(
    s: Session,
    f: StatementFilter,
    *,
    status: str | None = None,
    review: str | None = None,
) -> list[tuple[int, int]]:
    """``(statement id, person id)`` of the statements a count was made from, in order
    (person, conversation, position).

    With ``status`` (``f.outcome`` or ``f.group`` should be set), the statements of the
    matching outcomes in the conversation each status was read from; with ``review``, those
    of the people whose latest review matches; otherwise every statement with a live tag
    matching ``f``.
    """
    f = replace(f, status=None) if status is not None else f
    query = _tag_query(Statement.id, Person.id).where(*statement_conditions(f))
    if status is not None or review is not None:
        pairs = [
            h
            for h in heard(s, f)
            if (status is None or h.status == status) and (review is None or h.review == review)
        ]
        if status is not None:
            keys = {(h.conversation_id, h.outcome_id) for h in pairs}
            query = query.add_columns(Conversation.id, OutcomeTag.outcome_id)
        else:
            keys = {(h.person_id, h.outcome_id) for h in pairs}
            query = query.add_columns(Person.id, OutcomeTag.outcome_id)
        query = query.order_by(
            Conversation.person_id, Conversation.started_at, Conversation.id, Statement.position
        )
        found: dict[int, int] = {}
        for sid, pid, key, oid in s.execute(query):
            if (key, oid) in keys:
                found.setdefault(sid, pid)
        return list(found.items())
    query = query.order_by(
        Conversation.person_id, Conversation.started_at, Conversation.id, Statement.position
    )
    found = {}
    for sid, pid in s.execute(query):
        found.setdefault(sid, pid)
    return list(found.items())


def statement_rows(s: Session, ids: list[int]) -> list[StatementRow]:
    """The statements with these ids, in the same order, each with its live outcome ids."""
    if not ids:
        return []
    rows = s.execute(
        select(
            Statement.id,
            Statement.text,
            Statement.created_at,
            Person.id,
            Conversation.reference,
            effective_role(),
        )
        .join(Conversation, Statement.conversation_id == Conversation.id)
        .join(Person, Conversation.person_id == Person.id)
        .where(Statement.id.in_(ids))
    ).all()
    tags: dict[int, list[str]] = defaultdict(list)
    for sid, oid in s.execute(
        select(OutcomeTag.statement_id, OutcomeTag.outcome_id)
        .where(OutcomeTag.statement_id.in_(ids), OutcomeTag.state != "removed")
        .order_by(OutcomeTag.id)
    ):
        if oid not in tags[sid]:
            tags[sid].append(oid)
    by_id = {r[0]: r for r in rows}
    return [StatementRow(*by_id[i], tuple(tags[i])) for i in ids if i in by_id]


# ------------------------------------------------------------------------------- people


@dataclass(frozen=True)
class PersonRow:
    """One line of the people list."""

    id: int
    role: str | None
    reference: str | None
    conversations: int
    statements: int
    last_at: datetime | None
    flagged: bool


def person_ids(
    s: Session,
    f: StatementFilter,
    *,
    status: str | None = None,
    review: str | None = None,
) -> list[int] | None:
    """Ids of the people matching ``f`` (``None``: everyone); ``status``/``review`` keep
    people with an outcome (``f.outcome`` if set) whose latest status/review matches."""
    if status is not None or review is not None:
        return sorted(
            {
                h.person_id
                for h in heard(s, f)
                if (status is None or h.status == status) and (review is None or h.review == review)
            }
        )
    if f.is_empty:
        return None
    if f.needs_tag:
        query = _tag_query(Person.id)
    else:
        query = (
            select(Person.id)
            .join(Conversation, Conversation.person_id == Person.id)
            .join(Statement, Statement.conversation_id == Conversation.id)
        )
    return sorted(set(s.execute(query.where(*statement_conditions(f))).scalars()))


def people_page(
    s: Session,
    f: StatementFilter,
    *,
    status: str | None = None,
    review: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[PersonRow], int]:
    """One page of the people matching the filters, latest activity first; and how many."""
    ids = person_ids(s, f, status=status, review=review)
    last_at = func.max(func.coalesce(Conversation.updated_at, Person.created_at))
    query = (
        select(
            Person.id,
            Person.role,
            func.count(func.distinct(Conversation.id)),
            func.count(Statement.id),
            last_at,
            func.max(case((Conversation.flagged.is_(True), 1), else_=0)),
        )
        .outerjoin(Conversation, Conversation.person_id == Person.id)
        .outerjoin(Statement, Statement.conversation_id == Conversation.id)
        .group_by(Person.id, Person.role)
    )
    if ids is not None:
        if not ids:
            return [], 0
        query = query.where(Person.id.in_(ids))
    total = len(ids) if ids is not None else s.execute(select(func.count(Person.id))).scalar_one()
    page = max(page, 1)
    rows = s.execute(
        query.order_by(last_at.desc(), Person.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    references: dict[int, str] = {}
    for pid, reference in s.execute(
        select(Conversation.person_id, Conversation.reference)
        .where(Conversation.person_id.in_([r[0] for r in rows]))
        .order_by(Conversation.started_at, Conversation.id)
    ):
        references[pid] = reference  # the latest wins
    return [
        PersonRow(pid, role, references.get(pid), nc, ns, last, bool(flagged))
        for pid, role, nc, ns, last, flagged in rows
    ], total


# --------------------------------------------------------------------------- one person


@dataclass
class OutcomeView:
    """One outcome in a person's record: their words, its status over time, the review."""

    outcome_id: str
    quotes: list[tuple[str, str]] = field(default_factory=list)  # (words, reference)
    history: list[tuple[str, datetime, str]] = field(default_factory=list)  # (ref, when, status)
    reviews: list[OutcomeReview] = field(default_factory=list)

    @property
    def label(self) -> str:
        return OUTCOMES[self.outcome_id].label

    @property
    def group(self) -> str:
        return OUTCOMES[self.outcome_id].group

    @property
    def status(self) -> str:
        return self.history[-1][2] if self.history else NO_STATUS

    @property
    def review(self) -> OutcomeReview | None:
        return self.reviews[-1] if self.reviews else None


@dataclass
class PersonView:
    """Everything the person page shows."""

    person: Person
    conversations: list[Conversation]
    groups: list[tuple[Group, list[OutcomeView]]]
    notes: list[PractitionerNote]

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.conversations)

    @property
    def reference(self) -> str | None:
        return self.conversations[-1].reference if self.conversations else None


def person_view(s: Session, person_id: int) -> PersonView | None:
    """The person's conversations (in order, with their words and outcomes), their outcomes
    grouped for their role, each with its words, status history and reviews; their notes."""
    person = s.get(Person, person_id)
    if person is None:
        return None
    conversations = list(
        s.execute(
            select(Conversation)
            .where(Conversation.person_id == person.id)
            .order_by(Conversation.started_at, Conversation.id)
            .options(
                selectinload(Conversation.statements).selectinload(Statement.tags),
                selectinload(Conversation.statuses),
                selectinload(Conversation.summary),
            )
        ).scalars()
    )
    outcomes: dict[str, OutcomeView] = {}
    for c in conversations:
        statuses = {st.outcome_id: st for st in c.statuses}
        heard_here: list[str] = []
        for st in c.statements:
            for tag in st.tags:
                if tag.state == "removed":
                    continue
                view = outcomes.setdefault(tag.outcome_id, OutcomeView(tag.outcome_id))
                if (tag.quote, c.reference) not in view.quotes:
                    view.quotes.append((tag.quote, c.reference))
                if tag.outcome_id not in heard_here:
                    heard_here.append(tag.outcome_id)
        for oid in heard_here:
            row = statuses.get(oid)
            outcomes[oid].history.append(
                (
                    c.reference,
                    row.recorded_at if row else c.started_at,
                    row.status if row else NO_STATUS,
                )
            )
    for review in repo.reviews_for(s, person):
        outcomes.setdefault(review.outcome_id, OutcomeView(review.outcome_id)).reviews.append(
            review
        )
    role_groups = list(groups_for_role(person.role).values())
    other_groups = [g for g in GROUPS.values() if g not in role_groups]
    groups = []
    for group in role_groups + other_groups:
        items = [v for v in outcomes.values() if v.group == group.id]
        if items or group in role_groups:
            groups.append((group, items))
    return PersonView(person, conversations, groups, repo.notes_for(s, person))
