"""Review conversations: the person's own dated review of each outcome.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "po_review_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.String(length=64), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("helped", sa.Text(), nullable=True),
        sa.Column("not_helped", sa.Text(), nullable=True),
        sa.Column("still_matters", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('fully_met', 'partly_met', 'not_met', 'skipped')",
            name=op.f("ck_po_review_entries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["po_conversations.id"],
            name=op.f("fk_po_review_entries_conversation_id_po_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["po_people.id"],
            name=op.f("fk_po_review_entries_person_id_po_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_review_entries")),
    )
    op.create_index(
        op.f("ix_po_review_entries_conversation_id"),
        "po_review_entries",
        ["conversation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_po_review_entries_person_id"), "po_review_entries", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_po_review_entries_person_id"), table_name="po_review_entries")
    op.drop_index(op.f("ix_po_review_entries_conversation_id"), table_name="po_review_entries")
    op.drop_table("po_review_entries")
