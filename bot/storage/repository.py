"""Everything the assistant reads and writes, as functions over a SQLAlchemy ``Session``.

No function here commits: run them inside ``with session_scope() as s:`` (or
``with Session.begin() as s:``) and the block commits them together. Invalid input is a
``ValueError`` raised before anything is written.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, inspect, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.outcomes.framework import GROUPS, OUTCOMES, ROLES, group_of, groups_for_role
from bot.storage.models import (
    OUTCOME_STATUSES,
    REVIEW_ENTRY_STATUSES,
    REVIEW_STATUSES,
    STATEMENT_SOURCES,
    AuditEntry,
    Conversation,
    OutcomeReview,
    OutcomeStatus,
    OutcomeTag,
    Person,
    Practitioner,
    PractitionerNote,
    ReviewEntry,
    Statement,
    Summary,
    utcnow,
)

REFERENCE_PREFIX = "PO-"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I
REFERENCE_LENGTH = 6
ACTIVE_STATUSES = ("open", "paused")
SETTABLE_STATUSES = ("open", "paused", "restarted")  # "saved" only via save_summary


# --------------------------------------------------------------------------- validation


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def _check_outcome(outcome_id: str) -> str:
    if outcome_id not in OUTCOMES:
        raise ValueError(f"unknown outcome id {outcome_id!r}")
    return outcome_id


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise ValueError("statement text must be a string")
    # PostgreSQL cannot store NUL characters; they carry no meaning in a chat message.
    text = text.replace("\x00", "")
    if not text.strip():
        raise ValueError("statement text is empty")
    return text


@dataclass(frozen=True)
class _Tag:
    outcome_id: str
    confidence: float
    quote: str | None


def _as_tag(tag: Any) -> _Tag:
    """Accept an object with ``outcome_id``/``confidence``/``quote``, a mapping or a tuple."""
    if hasattr(tag, "outcome_id"):
        outcome_id, confidence = tag.outcome_id, tag.confidence
        quote = getattr(tag, "quote", None)
    elif isinstance(tag, Mapping):
        outcome_id, confidence, quote = tag["outcome_id"], tag["confidence"], tag.get("quote")
    else:
        outcome_id, confidence, quote = tuple(tag)
    _check_outcome(outcome_id)
    try:
        confidence = float(confidence)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"confidence for {outcome_id!r} is not a number") from exc
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise ValueError(f"confidence for {outcome_id!r} must be between 0 and 1")
    if quote is not None:
        quote = str(quote).replace("\x00", "")
    return _Tag(outcome_id, confidence, quote)


# ------------------------------------------------------------------------------- people


def find_person(s: Session, channel: str, channel_user_id: str) -> Person | None:
    """The person known on ``channel`` as ``channel_user_id``, if we have met them."""
    return s.execute(
        select(Person).where(
            Person.channel == channel, Person.channel_user_id == str(channel_user_id)
        )
    ).scalar_one_or_none()


def get_or_create_person(s: Session, channel: str, channel_user_id: str) -> Person:
    """The person known on ``channel`` as ``channel_user_id``, added if new."""
    person = find_person(s, channel, channel_user_id)
    if person is None:
        person = Person(channel=channel, channel_user_id=str(channel_user_id), created_at=utcnow())
        s.add(person)
        s.flush()
    return person


def record_consent(s: Session, person: Person, when: datetime | None = None) -> None:
    """Note that ``person`` agreed to their words being stored (now, or at ``when``)."""
    person.consent_at = when or utcnow()
    s.flush()


def set_role(s: Session, person: Person, role: str) -> None:
    """Record whether ``person`` is a person, carer or PA employer (``ValueError`` otherwise)."""
    person.role = _check_role(role)
    s.flush()


# ------------------------------------------------------------------------ conversations


def _new_reference() -> str:
    return REFERENCE_PREFIX + "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
    )


def normalise_reference(reference: str) -> str:
    """``" po 7k3m9q "`` -> ``"PO-7K3M9Q"``: forgive case, spaces and a missing prefix."""
    code = "".join(reference.split()).upper().replace("-", "")
    if code.startswith("PO") and len(code) == len("PO") + REFERENCE_LENGTH:
        code = code[2:]
    return REFERENCE_PREFIX + code


def current_conversation(s: Session, person: Person) -> Conversation | None:
    """The person's latest conversation that is still open or paused."""
    return (
        s.execute(
            select(Conversation)
            .where(Conversation.person_id == person.id, Conversation.status.in_(ACTIVE_STATUSES))
            .order_by(Conversation.started_at.desc(), Conversation.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def start_conversation(s: Session, person: Person) -> Conversation:
    """A new open conversation with a fresh reference; the person's role is copied onto it."""
    for _ in range(20):
        reference = _new_reference()
        taken = s.execute(
            select(Conversation.id).where(Conversation.reference == reference)
        ).first()
        if taken is None:
            break
    else:  # pragma: no cover - 32**6 codes; only reachable with a broken random source
        raise RuntimeError("could not find an unused conversation reference")
    now = utcnow()
    conversation = Conversation(
        person=person,
        reference=reference,
        status="open",
        role=person.role,
        started_at=now,
        updated_at=now,
        flagged=False,
    )
    s.add(conversation)
    s.flush()
    return conversation


def get_conversation_by_reference(s: Session, reference: str) -> Conversation | None:
    """The conversation with this reference (case and spacing forgiven), if any."""
    return s.execute(
        select(Conversation).where(Conversation.reference == normalise_reference(reference))
    ).scalar_one_or_none()


def _touch(conversation: Conversation) -> None:
    conversation.updated_at = utcnow()


def set_status(s: Session, conversation: Conversation, status: str) -> None:
    """Mark a conversation open, paused or restarted (saving is :func:`save_summary`)."""
    if status not in SETTABLE_STATUSES:
        raise ValueError(f"cannot set status {status!r}; expected one of {SETTABLE_STATUSES}")
    conversation.status = status
    _touch(conversation)
    s.flush()


def flag_conversation(s: Session, conversation: Conversation, reason: str) -> None:
    """Flag a conversation for a person to look at (e.g. distress); reasons accumulate."""
    if conversation.flagged and conversation.flag_reason:
        if reason and reason not in conversation.flag_reason.split("; "):
            conversation.flag_reason = f"{conversation.flag_reason}; {reason}"
    else:
        conversation.flag_reason = reason
    if not conversation.flagged:
        conversation.flagged = True
        conversation.flagged_at = utcnow()
    _touch(conversation)
    s.flush()


# --------------------------------------------------------------------------- statements


def _statement_by_message(
    s: Session, conversation: Conversation, message_id: str
) -> Statement | None:
    return s.execute(
        select(Statement).where(
            Statement.conversation_id == conversation.id, Statement.message_id == message_id
        )
    ).scalar_one_or_none()


def _add_statement(
    s: Session,
    conversation: Conversation,
    text: str,
    source: str,
    message_id: str | None,
    tags: list[_Tag],
    state: str,
    transcribed: bool = False,
) -> Statement:
    position = (
        s.execute(
            select(func.max(Statement.position)).where(Statement.conversation_id == conversation.id)
        ).scalar()
        or 0
    ) + 1
    now = utcnow()
    statement = Statement(
        conversation=conversation,  # (keeps a loaded conversation.statements up to date)
        position=position,
        text=text,
        source=source,
        message_id=message_id,
        created_at=now,
        transcribed=transcribed,
    )
    seen: set[tuple[str, str]] = set()
    for tag in tags:
        quote = tag.quote if tag.quote and tag.quote.strip() else text
        if (tag.outcome_id, quote) in seen:
            continue
        seen.add((tag.outcome_id, quote))
        statement.tags.append(
            OutcomeTag(
                outcome_id=tag.outcome_id,
                group=group_of(tag.outcome_id),
                confidence=tag.confidence,
                quote=quote,
                state=state,
                created_at=now,
            )
        )
    s.add(statement)
    _touch(conversation)
    s.flush()
    return statement


def add_statement(
    s: Session,
    conversation: Conversation,
    text: str,
    *,
    source: str = "story",
    message_id: str | None = None,
    tags: Iterable[Any] = (),
    transcribed: bool = False,
) -> Statement:
    """Store the person's words verbatim, with the outcomes heard in them.

    ``tags`` holds objects (or mappings, or tuples) with ``outcome_id``, ``confidence`` and
    ``quote`` (the sentence the outcome was heard in; the whole text if empty). A
    ``message_id`` already stored in this conversation returns that statement unchanged.
    ``transcribed`` marks words heard from a voice note (and confirmed by the person).
    """
    text = _check_text(text)
    if source not in STATEMENT_SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {STATEMENT_SOURCES}")
    checked = [_as_tag(tag) for tag in tags]
    if message_id is not None:
        message_id = str(message_id)
        existing = _statement_by_message(s, conversation, message_id)
        if existing is not None:
            return existing
    return _add_statement(
        s, conversation, text, source, message_id, checked, "suggested", transcribed
    )


def _live_tags_query(conversation: Conversation):
    """The conversation's tags that were not removed, in the order they were heard."""
    return (
        select(OutcomeTag)
        .join(Statement, OutcomeTag.statement_id == Statement.id)
        .where(Statement.conversation_id == conversation.id, OutcomeTag.state != "removed")
        .order_by(Statement.position, OutcomeTag.id)
    )


def outcomes_heard(s: Session, conversation: Conversation) -> list[str]:
    """Outcome ids heard so far (and not removed), in the order they were first heard."""
    heard: dict[str, None] = {}
    for tag in s.execute(_live_tags_query(conversation)).scalars():
        heard.setdefault(tag.outcome_id, None)
    return list(heard)


def best_quote(s: Session, conversation: Conversation, outcome_id: str) -> str:
    """The person's words an outcome was heard in most clearly (highest confidence), or ""."""
    tag = (
        s.execute(
            _live_tags_query(conversation)
            .where(OutcomeTag.outcome_id == outcome_id)
            .order_by(None)
            .order_by(OutcomeTag.confidence.desc(), OutcomeTag.id)
        )
        .scalars()
        .first()
    )
    return tag.quote if tag is not None else ""


def set_outcome_status(
    s: Session, conversation: Conversation, outcome_id: str, status: str
) -> OutcomeStatus:
    """Record how an outcome is going; setting it again replaces the earlier answer."""
    _check_outcome(outcome_id)
    if status not in OUTCOME_STATUSES:
        raise ValueError(f"unknown outcome status {status!r}; expected one of {OUTCOME_STATUSES}")
    row = s.execute(
        select(OutcomeStatus).where(
            OutcomeStatus.conversation_id == conversation.id,
            OutcomeStatus.outcome_id == outcome_id,
        )
    ).scalar_one_or_none()
    now = utcnow()
    if row is None:
        row = OutcomeStatus(
            conversation=conversation, outcome_id=outcome_id, status=status, recorded_at=now
        )
        s.add(row)
    else:
        row.status = status
        row.recorded_at = now
    _touch(conversation)
    s.flush()
    return row


def remove_outcome(s: Session, conversation: Conversation, outcome_id: str) -> int:
    """Mark every tag of ``outcome_id`` in the conversation removed; returns how many."""
    _check_outcome(outcome_id)
    statement_ids = select(Statement.id).where(Statement.conversation_id == conversation.id)
    result = s.execute(
        update(OutcomeTag)
        .where(
            OutcomeTag.statement_id.in_(statement_ids),
            OutcomeTag.outcome_id == outcome_id,
            OutcomeTag.state != "removed",
        )
        .values(state="removed")
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount:
        _touch(conversation)
    s.flush()
    return result.rowcount


def reword_outcome(
    s: Session,
    conversation: Conversation,
    outcome_id: str,
    new_text: str,
    *,
    message_id: str | None = None,
    transcribed: bool = False,
) -> Statement:
    """Keep the person's own words for an outcome: a new ``reword`` statement, tagged and
    confirmed, replaces the earlier tags of that outcome (which are marked removed, not deleted).
    """
    _check_outcome(outcome_id)
    new_text = _check_text(new_text)
    if message_id is not None:
        message_id = str(message_id)
        existing = _statement_by_message(s, conversation, message_id)
        if existing is not None:
            return existing
    remove_outcome(s, conversation, outcome_id)
    tag = _Tag(outcome_id, 1.0, new_text)
    return _add_statement(
        s, conversation, new_text, "reword", message_id, [tag], "confirmed", transcribed
    )


# ------------------------------------------------------------------------------ summary


@dataclass
class SummaryItem:
    """One outcome in the summary: the person's words for it and how it is going."""

    outcome_id: str
    group: str
    quotes: list[str] = field(default_factory=list)
    status: str | None = None

    @property
    def label(self) -> str:
        """The framework's name for the outcome."""
        return OUTCOMES[self.outcome_id].label


def summary_items(s: Session, conversation: Conversation) -> list[SummaryItem]:
    """Outcomes heard (not removed), grouped in the framework's order for the conversation's
    role, then in the order first heard; each with its distinct quotes and status."""
    statuses = dict(
        s.execute(
            select(OutcomeStatus.outcome_id, OutcomeStatus.status).where(
                OutcomeStatus.conversation_id == conversation.id
            )
        ).all()
    )
    items: dict[str, SummaryItem] = {}
    for tag in s.execute(_live_tags_query(conversation)).scalars():
        item = items.get(tag.outcome_id)
        if item is None:
            item = items[tag.outcome_id] = SummaryItem(
                tag.outcome_id, group_of(tag.outcome_id), [], statuses.get(tag.outcome_id)
            )
        if tag.quote not in item.quotes:
            item.quotes.append(tag.quote)
    role_groups = list(groups_for_role(conversation.role))
    all_groups = list(GROUPS)

    def group_rank(group: str) -> int:
        if group in role_groups:
            return role_groups.index(group)
        return len(role_groups) + all_groups.index(group)

    order = {outcome_id: i for i, outcome_id in enumerate(items)}
    return sorted(items.values(), key=lambda it: (group_rank(it.group), order[it.outcome_id]))


def words_without_outcomes(s: Session, conversation: Conversation) -> list[str]:
    """What the person said in the conversation in which no outcome was ever heard, in the
    order said (their story lines; not a message the safety check answered)."""
    tagged = select(OutcomeTag.id).where(OutcomeTag.statement_id == Statement.id).exists()
    return list(
        s.execute(
            select(Statement.text)
            .where(
                Statement.conversation_id == conversation.id,
                Statement.source == "story",
                ~tagged,
            )
            .order_by(Statement.position)
        ).scalars()
    )


def save_summary(s: Session, conversation: Conversation, body: str) -> Summary:
    """Store the summary the person confirmed, confirm its outcomes and mark it saved."""
    now = utcnow()
    summary = s.execute(
        select(Summary).where(Summary.conversation_id == conversation.id)
    ).scalar_one_or_none()
    if summary is None:
        summary = Summary(conversation=conversation, body=body, confirmed_at=now)
        s.add(summary)
    else:
        summary.body = body
        summary.confirmed_at = now
    statement_ids = select(Statement.id).where(Statement.conversation_id == conversation.id)
    s.execute(
        update(OutcomeTag)
        .where(OutcomeTag.statement_id.in_(statement_ids), OutcomeTag.state != "removed")
        .values(state="confirmed")
        .execution_options(synchronize_session="fetch")
    )
    conversation.status = "saved"
    conversation.saved_at = now
    conversation.updated_at = now
    s.flush()
    return summary


# --------------------------------------------------------------------- people's rights


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person_record(s: Session, person: Person) -> dict[str, Any]:
    """Everything stored about ``person``, as plain JSON-ready data ("what do you hold?")."""
    conversations = (
        s.execute(
            select(Conversation)
            .where(Conversation.person_id == person.id)
            .order_by(Conversation.started_at, Conversation.id)
            .options(
                selectinload(Conversation.statements).selectinload(Statement.tags),
                selectinload(Conversation.statuses),
                selectinload(Conversation.summary),
            )
        )
        .scalars()
        .all()
    )
    return {
        "id": person.id,
        "channel": person.channel,
        "channel_user_id": person.channel_user_id,
        "role": person.role,
        "consent_at": _iso(person.consent_at),
        "created_at": _iso(person.created_at),
        "conversations": [
            {
                "reference": c.reference,
                "status": c.status,
                "role": c.role,
                "started_at": _iso(c.started_at),
                "updated_at": _iso(c.updated_at),
                "saved_at": _iso(c.saved_at),
                "flagged": c.flagged,
                "flagged_at": _iso(c.flagged_at),
                "flag_reason": c.flag_reason,
                "statements": [
                    {
                        "position": st.position,
                        "text": st.text,
                        "source": st.source,
                        "message_id": st.message_id,
                        "created_at": _iso(st.created_at),
                        "outcomes": [
                            {
                                "id": t.outcome_id,
                                "group": t.group,
                                "confidence": t.confidence,
                                "quote": t.quote,
                                "state": t.state,
                                "created_at": _iso(t.created_at),
                            }
                            for t in st.tags
                        ],
                    }
                    for st in c.statements
                ],
                "outcome_statuses": [
                    {"id": st.outcome_id, "status": st.status, "recorded_at": _iso(st.recorded_at)}
                    for st in c.statuses
                ],
                "summary": (
                    {"body": c.summary.body, "confirmed_at": _iso(c.summary.confirmed_at)}
                    if c.summary is not None
                    else None
                ),
            }
            for c in conversations
        ],
    }


def delete_person(s: Session, person: Person) -> dict[str, int]:
    """Delete ``person`` and everything of theirs (the database cascades); returns counts."""
    conversation_ids = select(Conversation.id).where(Conversation.person_id == person.id)
    statement_ids = select(Statement.id).where(Statement.conversation_id.in_(conversation_ids))

    def count(model, *where) -> int:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    counts = {
        "people": 1,
        "conversations": count(Conversation, Conversation.person_id == person.id),
        "statements": count(Statement, Statement.conversation_id.in_(conversation_ids)),
        "outcome_tags": count(OutcomeTag, OutcomeTag.statement_id.in_(statement_ids)),
        "outcome_statuses": count(
            OutcomeStatus, OutcomeStatus.conversation_id.in_(conversation_ids)
        ),
        "summaries": count(Summary, Summary.conversation_id.in_(conversation_ids)),
    }
    owned_conversations = set(s.execute(conversation_ids).scalars())
    owned_statements = set(s.execute(statement_ids).scalars())
    s.delete(person)
    s.flush()
    # Rows the database cascaded away may still sit in the session; forget them (reading
    # the loaded values only, as loading anything now would fail).
    for obj in list(s):
        loaded = inspect(obj).dict
        if (
            (isinstance(obj, Conversation) and loaded.get("id") in owned_conversations)
            or (
                isinstance(obj, (Statement, OutcomeStatus, Summary))
                and loaded.get("conversation_id") in owned_conversations
            )
            or (isinstance(obj, OutcomeTag) and loaded.get("statement_id") in owned_statements)
        ):
            s.expunge(obj)
    return counts


# ------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportRow:
    """One statement-outcome pair (outcome columns empty for a statement with none)."""

    person_id: int
    channel: str
    role: str | None
    conversation_reference: str
    conversation_status: str
    flagged: bool
    statement_position: int
    text: str
    source: str
    transcribed: bool
    created_at: datetime
    outcome_id: str | None
    outcome_group: str | None
    confidence: float | None
    state: str | None
    outcome_status: str | None


def effective_role():
    """The role a conversation was held in (the person's current role if none was recorded)."""
    return func.coalesce(Conversation.role, Person.role)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class StatementFilter:
    """Which statements (and statement-outcome rows) to include; ``None`` means any.

    - ``role``: the role the conversation was held in (see :func:`effective_role`);
    - ``date_from`` / ``date_to``: the day the statement was made (UTC, both inclusive);
    - ``outcome`` / ``group``: a tag of that outcome id or group that was not removed;
    - ``status``: how the person said that outcome is going in that conversation;
    - ``flagged``: the conversation was (or was not) flagged for attention;
    - ``text``: words in the statement, or a conversation reference;
    - ``person_id``: one person.
    """

    role: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    outcome: str | None = None
    group: str | None = None
    status: str | None = None
    flagged: bool | None = None
    text: str | None = None
    person_id: int | None = None

    def __post_init__(self) -> None:
        if self.role is not None:
            _check_role(self.role)
        if self.outcome is not None:
            _check_outcome(self.outcome)
        if self.group is not None and self.group not in GROUPS:
            raise ValueError(f"unknown group {self.group!r}")
        if self.status is not None and self.status not in OUTCOME_STATUSES:
            raise ValueError(f"unknown outcome status {self.status!r}")

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered out."""
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    @property
    def needs_tag(self) -> bool:
        """True when rows must carry a (live) outcome tag to match."""
        return self.outcome is not None or self.group is not None or self.status is not None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def statement_conditions(f: StatementFilter) -> list:
    """WHERE clauses for ``f`` over a query joining Person, Conversation and Statement, and
    (when ``f.needs_tag``) OutcomeTag and OutcomeStatus on the usual keys."""
    where: list = []
    if f.person_id is not None:
        where.append(Person.id == f.person_id)
    if f.role is not None:
        where.append(effective_role() == f.role)
    if f.date_from is not None:
        where.append(Statement.created_at >= _day_start(f.date_from))
    if f.date_to is not None:
        where.append(Statement.created_at < _day_start(f.date_to + timedelta(days=1)))
    if f.flagged is not None:
        where.append(Conversation.flagged.is_(f.flagged))
    if f.text:
        where.append(
            or_(
                Statement.text.ilike(_like_pattern(f.text.strip()), escape="\\"),
                Conversation.reference == normalise_reference(f.text),
            )
        )
    if f.needs_tag:
        where.append(OutcomeTag.state != "removed")
    if f.outcome is not None:
        where.append(OutcomeTag.outcome_id == f.outcome)
    if f.group is not None:
        where.append(OutcomeTag.group == f.group)
    if f.status is not None:
        where.append(OutcomeStatus.status == f.status)
    return where


def export_rows(s: Session, filters: StatementFilter | None = None) -> Iterator[ExportRow]:
    """Every statement, once per outcome tag (once with empty outcome columns if it has none),
    ordered by person, conversation, position. ``role`` is the role the conversation was
    held in (the person's current role if none was recorded). ``filters`` keeps only the
    matching rows (with an outcome, group or status filter, removed tags are left out)."""
    query = (
        select(
            Person.id,
            Person.channel,
            effective_role(),
            Conversation.reference,
            Conversation.status,
            Conversation.flagged,
            Statement.position,
            Statement.text,
            Statement.source,
            Statement.transcribed,
            Statement.created_at,
            OutcomeTag.outcome_id,
            OutcomeTag.group,
            OutcomeTag.confidence,
            OutcomeTag.state,
            OutcomeStatus.status,
        )
        .join(Conversation, Conversation.person_id == Person.id)
        .join(Statement, Statement.conversation_id == Conversation.id)
        .outerjoin(OutcomeTag, OutcomeTag.statement_id == Statement.id)
        .outerjoin(
            OutcomeStatus,
            and_(
                OutcomeStatus.conversation_id == Conversation.id,
                OutcomeStatus.outcome_id == OutcomeTag.outcome_id,
            ),
        )
        .order_by(Person.id, Conversation.started_at, Conversation.id, Statement.position)
        .order_by(OutcomeTag.id)
        .execution_options(yield_per=500)
    )
    if filters is not None and not filters.is_empty:
        query = query.where(*statement_conditions(filters))
    for row in s.execute(query):
        yield ExportRow(*row)


def tag_statement(
    s: Session,
    conversation: Conversation,
    statement_id: int,
    outcome_id: str,
    *,
    quote: str | None = None,
    state: str = "confirmed",
) -> OutcomeTag:
    """Tag one of the conversation's statements with an outcome the person chose themselves
    (their answer to "is that more about A or B?"), with full confidence."""
    _check_outcome(outcome_id)
    statement = s.execute(
        select(Statement).where(
            Statement.id == statement_id, Statement.conversation_id == conversation.id
        )
    ).scalar_one()
    tag = OutcomeTag(
        outcome_id=outcome_id,
        group=group_of(outcome_id),
        confidence=1.0,
        quote=quote if quote and quote.strip() else statement.text,
        state=state,
        created_at=utcnow(),
    )
    statement.tags.append(tag)
    _touch(conversation)
    s.flush()
    return tag


# ------------------------------------------------------------------------ practitioners


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise ValueError("a practitioner name is 1 to 64 characters with no spaces")
    return name


def add_practitioner(s: Session, name: str, password_hash: str) -> Practitioner:
    """A new practitioner account (``ValueError`` if the name is taken or not valid)."""
    name = _check_name(name)
    if get_practitioner_by_name(s, name) is not None:
        raise ValueError(f"a practitioner called {name!r} already exists")
    practitioner = Practitioner(name=name, password_hash=password_hash, created_at=utcnow())
    s.add(practitioner)
    s.flush()
    return practitioner


def get_practitioner_by_name(s: Session, name: str) -> Practitioner | None:
    """The practitioner with this name, if any."""
    return s.execute(
        select(Practitioner).where(Practitioner.name == (name or "").strip())
    ).scalar_one_or_none()


def list_practitioners(s: Session) -> list[Practitioner]:
    """Every practitioner, by name."""
    return list(s.execute(select(Practitioner).order_by(Practitioner.name)).scalars())


def remove_practitioner(s: Session, name: str) -> bool:
    """Delete a practitioner's account (their audit entries, notes and reviews stay, with
    their name); ``False`` if there was none."""
    practitioner = get_practitioner_by_name(s, name)
    if practitioner is None:
        return False
    s.delete(practitioner)
    s.flush()
    return True


def record_sign_in(s: Session, practitioner: Practitioner) -> None:
    """Note when ``practitioner`` last signed in."""
    practitioner.last_sign_in_at = utcnow()
    s.flush()


# ---------------------------------------------------------------------------- audit log


def record_audit(
    s: Session,
    practitioner: Practitioner | None,
    action: str,
    *,
    person_id: int | None = None,
    detail: str | None = None,
    name: str | None = None,
) -> AuditEntry:
    """Write who did ``action`` (on ``person_id``), and when. ``name`` stands in for an
    unknown practitioner (e.g. a failed sign-in)."""
    entry = AuditEntry(
        at=utcnow(),
        practitioner_id=practitioner.id if practitioner is not None else None,
        practitioner_name=(practitioner.name if practitioner is not None else name or "-")[:64],
        action=action[:32],
        person_id=person_id,
        detail=detail,
    )
    s.add(entry)
    s.flush()
    return entry


def audit_entries(
    s: Session, *, person_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The latest audit entries (for one person, if given), newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if person_id is not None:
        query = query.where(AuditEntry.person_id == person_id)
    return list(s.execute(query).scalars())


# ------------------------------------------------------------------ notes and reviews


def add_note(s: Session, person: Person, practitioner: Practitioner, body: str) -> PractitionerNote:
    """A practitioner's note on ``person`` (the person's own words are not touched)."""
    body = _check_text(body)
    note = PractitionerNote(
        person_id=person.id,
        practitioner_id=practitioner.id,
        author_name=practitioner.name,
        body=body,
        created_at=utcnow(),
    )
    s.add(note)
    s.flush()
    return note


def notes_for(s: Session, person: Person) -> list[PractitionerNote]:
    """Notes on ``person``, oldest first."""
    return list(
        s.execute(
            select(PractitionerNote)
            .where(PractitionerNote.person_id == person.id)
            .order_by(PractitionerNote.created_at, PractitionerNote.id)
        ).scalars()
    )


def add_review(
    s: Session,
    person: Person,
    practitioner: Practitioner,
    outcome_id: str,
    status: str,
    comment: str | None = None,
) -> OutcomeReview:
    """Record a practitioner's review (fully / partly / not met) of one of ``person``'s
    outcomes; earlier reviews are kept."""
    _check_outcome(outcome_id)
    if status not in REVIEW_STATUSES:
        raise ValueError(f"unknown review status {status!r}; expected one of {REVIEW_STATUSES}")
    comment = (comment or "").replace("\x00", "").strip() or None
    review = OutcomeReview(
        person_id=person.id,
        outcome_id=outcome_id,
        status=status,
        comment=comment,
        practitioner_id=practitioner.id,
        author_name=practitioner.name,
        reviewed_at=utcnow(),
    )
    s.add(review)
    s.flush()
    return review


def reviews_for(s: Session, person: Person) -> list[OutcomeReview]:
    """Every review of ``person``'s outcomes, oldest first."""
    return list(
        s.execute(
            select(OutcomeReview)
            .where(OutcomeReview.person_id == person.id)
            .order_by(OutcomeReview.reviewed_at, OutcomeReview.id)
        ).scalars()
    )


def latest_reviews(s: Session, person_id: int | None = None) -> dict[tuple[int, str], str]:
    """``{(person_id, outcome_id): review status}`` from the latest review of each pair."""
    query = select(
        OutcomeReview.person_id, OutcomeReview.outcome_id, OutcomeReview.status
    ).order_by(OutcomeReview.reviewed_at, OutcomeReview.id)
    if person_id is not None:
        query = query.where(OutcomeReview.person_id == person_id)
    return {(pid, oid): status for pid, oid, status in s.execute(query)}


def latest_saved_conversation(s: Session, person: Person) -> Conversation | None:
    """The person's most recently saved conversation, if any."""
    return (
        s.execute(
            select(Conversation)
            .where(Conversation.person_id == person.id, Conversation.status == "saved")
            .order_by(Conversation.saved_at.desc(), Conversation.id.desc())
        )
        .scalars()
        .first()
    )


def add_review_entry(
    s: Session,
    conversation: Conversation,
    outcome_id: str,
    *,
    quote: str,
    status: str,
    helped: str | None = None,
    not_helped: str | None = None,
    still_matters: bool | None = None,
) -> ReviewEntry:
    """Store the person's dated review of one outcome of a saved conversation."""
    _check_outcome(outcome_id)
    if status not in REVIEW_ENTRY_STATUSES:
        raise ValueError(f"unknown review status {status!r}")
    entry = ReviewEntry(
        person_id=conversation.person_id,
        conversation_id=conversation.id,
        outcome_id=outcome_id,
        quote=quote,
        status=status,
        helped=helped or None,
        not_helped=not_helped or None,
        still_matters=still_matters,
        created_at=utcnow(),
    )
    s.add(entry)
    s.flush()
    return entry


def review_entries(s: Session, person: Person) -> list[ReviewEntry]:
    """All the person's review entries, oldest first."""
    return list(
        s.execute(
            select(ReviewEntry)
            .where(ReviewEntry.person_id == person.id)
            .order_by(ReviewEntry.created_at, ReviewEntry.id)
        ).scalars()
    )


def outcomes_reviewed_since(s: Session, conversation: Conversation, since: datetime) -> set[str]:
    """Outcome ids of ``conversation`` the person has reviewed at or after ``since``."""
    return set(
        s.execute(
            select(ReviewEntry.outcome_id).where(
                ReviewEntry.conversation_id == conversation.id, ReviewEntry.created_at >= since
            )
        ).scalars()
    )
