"""Initial outcomes tables: people, conversations, statements, outcome tags, statuses, summaries.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_CHECK = "role IS NULL OR role IN ('person', 'carer', 'pa_employer')"


def upgrade() -> None:
    op.create_table(
        "po_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("channel_user_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(ROLE_CHECK, name=op.f("ck_po_people_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_people")),
        sa.UniqueConstraint(
            "channel", "channel_user_id", name=op.f("uq_po_people_channel_channel_user_id")
        ),
    )
    op.create_table(
        "po_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(ROLE_CHECK, name=op.f("ck_po_conversations_role")),
        sa.CheckConstraint(
            "status IN ('open', 'paused', 'saved', 'restarted')",
            name=op.f("ck_po_conversations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["po_people.id"],
            name=op.f("fk_po_conversations_person_id_po_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_conversations")),
        sa.UniqueConstraint("reference", name=op.f("uq_po_conversations_reference")),
    )
    op.create_index(
        op.f("ix_po_conversations_person_id"), "po_conversations", ["person_id"], unique=False
    )
    op.create_table(
        "po_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('story', 'reword', 'distress')", name=op.f("ck_po_statements_source")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["po_conversations.id"],
            name=op.f("fk_po_statements_conversation_id_po_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_statements")),
        sa.UniqueConstraint(
            "conversation_id",
            "message_id",
            name=op.f("uq_po_statements_conversation_id_message_id"),
        ),
        sa.UniqueConstraint(
            "conversation_id", "position", name=op.f("uq_po_statements_conversation_id_position")
        ),
    )
    op.create_table(
        "po_outcome_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.String(length=64), nullable=False),
        sa.Column("group", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('suggested', 'confirmed', 'removed')", name=op.f("ck_po_outcome_tags_state")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["po_statements.id"],
            name=op.f("fk_po_outcome_tags_statement_id_po_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_outcome_tags")),
    )
    op.create_index(
        op.f("ix_po_outcome_tags_statement_id"), "po_outcome_tags", ["statement_id"], unique=False
    )
    op.create_table(
        "po_outcome_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('going_well', 'partly', 'not_yet', 'skipped')",
            name=op.f("ck_po_outcome_statuses_status"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["po_conversations.id"],
            name=op.f("fk_po_outcome_statuses_conversation_id_po_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_outcome_statuses")),
        sa.UniqueConstraint(
            "conversation_id",
            "outcome_id",
            name=op.f("uq_po_outcome_statuses_conversation_id_outcome_id"),
        ),
    )
    op.create_table(
        "po_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["po_conversations.id"],
            name=op.f("fk_po_summaries_conversation_id_po_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_summaries")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_po_summaries_conversation_id")),
    )


def downgrade() -> None:
    op.drop_table("po_summaries")
    op.drop_table("po_outcome_statuses")
    op.drop_index(op.f("ix_po_outcome_tags_statement_id"), table_name="po_outcome_tags")
    op.drop_table("po_outcome_tags")
    op.drop_table("po_statements")
    op.drop_index(op.f("ix_po_conversations_person_id"), table_name="po_conversations")
    op.drop_table("po_conversations")
    op.drop_table("po_people")
