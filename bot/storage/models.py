"""Database tables for people, their conversations, their words and the outcomes heard in them.

Every table is prefixed ``po_`` so it can share a database with Rasa's tracker store.
Datetimes are timezone-aware UTC on the way in and on the way out, on every backend.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot.outcomes.framework import ROLES

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
TABLE_PREFIX = "po_"

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)

CONVERSATION_STATUSES = ("open", "paused", "saved", "restarted")
STATEMENT_SOURCES = ("story", "reword", "distress")
TAG_STATES = ("suggested", "confirmed", "removed")
OUTCOME_STATUSES = ("going_well", "partly", "not_yet", "skipped")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes.

    SQLite keeps no offset, so values are converted to UTC before they are stored and
    naive values read back are UTC. Naive values passed in are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Person(Base):
    """Someone who talks to the assistant, known by their channel's user id."""

    __tablename__ = "po_people"
    __table_args__ = (
        UniqueConstraint("channel", "channel_user_id"),
        CheckConstraint(f"role IS NULL OR {_one_of('role', ROLES)}", name="role"),
    )

    id = Column(Integer, primary_key=True)
    channel = Column(String(64), nullable=False)
    channel_user_id = Column(String(255), nullable=False)
    role = Column(String(32), nullable=True)
    consent_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    conversations = relationship(
        "Conversation",
        back_populates="person",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Conversation.id",
    )

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.channel}:{self.channel_user_id}>"


class Conversation(Base):
    """One outcomes conversation, from welcome to saved summary (or restart)."""

    __tablename__ = "po_conversations"
    __table_args__ = (
        CheckConstraint(_one_of("status", CONVERSATION_STATUSES), name="status"),
        CheckConstraint(f"role IS NULL OR {_one_of('role', ROLES)}", name="role"),
    )

    id = Column(Integer, primary_key=True)
    person_id = Column(
        Integer, ForeignKey("po_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reference = Column(String(16), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="open")
    role = Column(String(32), nullable=True)
    started_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    saved_at = Column(UTCDateTime(), nullable=True)
    flagged = Column(Boolean(), nullable=False, default=False, server_default=false())
    flagged_at = Column(UTCDateTime(), nullable=True)
    flag_reason = Column(Text(), nullable=True)

    person = relationship("Person", back_populates="conversations")
    statements = relationship(
        "Statement",
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Statement.position",
    )
    statuses = relationship(
        "OutcomeStatus",
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OutcomeStatus.id",
    )
    summary = relationship(
        "Summary",
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        uselist=False,
    )

    def __repr__(self) -> str:
        return f"<Conversation {self.reference} {self.status}>"


class Statement(Base):
    """Something the person said, kept word for word."""

    __tablename__ = "po_statements"
    __table_args__ = (
        UniqueConstraint("conversation_id", "position"),
        UniqueConstraint("conversation_id", "message_id"),
        CheckConstraint(_one_of("source", STATEMENT_SOURCES), name="source"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("po_conversations.id", ondelete="CASCADE"), nullable=False
    )
    position = Column(Integer, nullable=False)
    text = Column(Text(), nullable=False)
    source = Column(String(16), nullable=False, default="story")
    message_id = Column(String(255), nullable=True)
    # True when the words came from a voice note the person confirmed (the audio is not kept).
    transcribed = Column(Boolean(), nullable=False, default=False, server_default=false())
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    conversation = relationship("Conversation", back_populates="statements")
    tags = relationship(
        "OutcomeTag",
        back_populates="statement",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OutcomeTag.id",
    )

    def __repr__(self) -> str:
        return f"<Statement {self.id} #{self.position} {self.source}>"


class OutcomeTag(Base):
    """An outcome heard in a statement, with the sentence it was heard in."""

    __tablename__ = "po_outcome_tags"
    __table_args__ = (CheckConstraint(_one_of("state", TAG_STATES), name="state"),)

    id = Column(Integer, primary_key=True)
    statement_id = Column(
        Integer, ForeignKey("po_statements.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome_id = Column(String(64), nullable=False)
    group = Column(String(64), nullable=False)
    confidence = Column(Float(), nullable=False)
    quote = Column(Text(), nullable=False)
    state = Column(String(16), nullable=False, default="suggested")
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    statement = relationship("Statement", back_populates="tags")

    def __repr__(self) -> str:
        return f"<OutcomeTag {self.id} {self.outcome_id} {self.state}>"


class OutcomeStatus(Base):
    """How the person says an outcome is going (one per outcome per conversation)."""

    __tablename__ = "po_outcome_statuses"
    __table_args__ = (
        UniqueConstraint("conversation_id", "outcome_id"),
        CheckConstraint(_one_of("status", OUTCOME_STATUSES), name="status"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("po_conversations.id", ondelete="CASCADE"), nullable=False
    )
    outcome_id = Column(String(64), nullable=False)
    status = Column(String(16), nullable=False)
    recorded_at = Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    conversation = relationship("Conversation", back_populates="statuses")

    def __repr__(self) -> str:
        return f"<OutcomeStatus {self.outcome_id} {self.status}>"


class Summary(Base):
    """The summary the person confirmed (one per conversation)."""

    __tablename__ = "po_summaries"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer,
        ForeignKey("po_conversations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    body = Column(Text(), nullable=False)
    confirmed_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    conversation = relationship("Conversation", back_populates="summary")

    def __repr__(self) -> str:
        return f"<Summary {self.id} for conversation {self.conversation_id}>"


# ------------------------------------------------------------------- practitioner review

REVIEW_STATUSES = ("fully_met", "partly_met", "not_met")


class Practitioner(Base):
    """Someone who signs in to the review web app (``python -m bot practitioner add``)."""

    __tablename__ = "po_practitioners"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_sign_in_at = Column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"<Practitioner {self.id} {self.name}>"


class ApiToken(Base):
    """A care-record system's key to the read-only FHIR API (``python -m bot api-token add``).

    Only a SHA-256 hash of the token is stored; the token is shown once, when made."""

    __tablename__ = "po_api_tokens"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime(), nullable=True)
    last_used_at = Column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name}{' revoked' if self.revoked_at else ''}>"


class AuditEntry(Base):
    """Who looked at or changed what, and when. Kept when the practitioner or person goes
    (the name is copied; the ids are set to NULL)."""

    __tablename__ = "po_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    practitioner_id = Column(
        Integer, ForeignKey("po_practitioners.id", ondelete="SET NULL"), nullable=True
    )
    practitioner_name = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    person_id = Column(
        Integer, ForeignKey("po_people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    detail = Column(Text(), nullable=True)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.practitioner_name} {self.action}>"


class PractitionerNote(Base):
    """A practitioner's note on a person's record; the person's own words are never changed."""

    __tablename__ = "po_practitioner_notes"

    id = Column(Integer, primary_key=True)
    person_id = Column(
        Integer, ForeignKey("po_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    practitioner_id = Column(
        Integer, ForeignKey("po_practitioners.id", ondelete="SET NULL"), nullable=True
    )
    author_name = Column(String(64), nullable=False)
    body = Column(Text(), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<PractitionerNote {self.id} on person {self.person_id}>"


class OutcomeReview(Base):
    """A practitioner's review of one outcome for one person (fully / partly / not met).

    Reviews are added, never overwritten: the latest one is the current review.
    """

    __tablename__ = "po_outcome_reviews"
    __table_args__ = (CheckConstraint(_one_of("status", REVIEW_STATUSES), name="status"),)

    id = Column(Integer, primary_key=True)
    person_id = Column(
        Integer, ForeignKey("po_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome_id = Column(String(64), nullable=False)
    status = Column(String(16), nullable=False)
    comment = Column(Text(), nullable=True)
    practitioner_id = Column(
        Integer, ForeignKey("po_practitioners.id", ondelete="SET NULL"), nullable=True
    )
    author_name = Column(String(64), nullable=False)
    reviewed_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<OutcomeReview {self.outcome_id} {self.status} for person {self.person_id}>"


REVIEW_ENTRY_STATUSES = ("fully_met", "partly_met", "not_met", "skipped")


class ReviewEntry(Base):
    """The person's own review of one outcome, dated: "how is it going now?".

    Added, never overwritten: an outcome's history is its entries in order.
    """

    __tablename__ = "po_review_entries"
    __table_args__ = (CheckConstraint(_one_of("status", REVIEW_ENTRY_STATUSES), name="status"),)

    id = Column(Integer, primary_key=True)
    person_id = Column(
        Integer, ForeignKey("po_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    conversation_id = Column(
        Integer, ForeignKey("po_conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome_id = Column(String(64), nullable=False)
    quote = Column(Text(), nullable=False)
    status = Column(String(16), nullable=False)
    helped = Column(Text(), nullable=True)
    not_helped = Column(Text(), nullable=True)
    still_matters = Column(Boolean(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReviewEntry {self.outcome_id} {self.status} for person {self.person_id}>"
