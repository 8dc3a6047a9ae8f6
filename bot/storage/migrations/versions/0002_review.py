"""Practitioner review: practitioners, the audit log, notes and outcome reviews.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "po_practitioners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_practitioners")),
        sa.UniqueConstraint("name", name=op.f("uq_po_practitioners_name")),
    )
    op.create_table(
        "po_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("practitioner_name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["po_people.id"],
            name=op.f("fk_po_audit_log_person_id_po_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["po_practitioners.id"],
            name=op.f("fk_po_audit_log_practitioner_id_po_practitioners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_audit_log")),
    )
    op.create_index(op.f("ix_po_audit_log_at"), "po_audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_po_audit_log_person_id"), "po_audit_log", ["person_id"], unique=False)
    op.create_table(
        "po_outcome_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('fully_met', 'partly_met', 'not_met')",
            name=op.f("ck_po_outcome_reviews_status"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["po_people.id"],
            name=op.f("fk_po_outcome_reviews_person_id_po_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["po_practitioners.id"],
            name=op.f("fk_po_outcome_reviews_practitioner_id_po_practitioners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_outcome_reviews")),
    )
    op.create_index(
        op.f("ix_po_outcome_reviews_person_id"), "po_outcome_reviews", ["person_id"], unique=False
    )
    op.create_table(
        "po_practitioner_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["po_people.id"],
            name=op.f("fk_po_practitioner_notes_person_id_po_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["po_practitioners.id"],
            name=op.f("fk_po_practitioner_notes_practitioner_id_po_practitioners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_practitioner_notes")),
    )
    op.create_index(
        op.f("ix_po_practitioner_notes_person_id"),
        "po_practitioner_notes",
        ["person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_po_practitioner_notes_person_id"), table_name="po_practitioner_notes")
    op.drop_table("po_practitioner_notes")
    op.drop_index(op.f("ix_po_outcome_reviews_person_id"), table_name="po_outcome_reviews")
    op.drop_table("po_outcome_reviews")
    op.drop_index(op.f("ix_po_audit_log_person_id"), table_name="po_audit_log")
    op.drop_index(op.f("ix_po_audit_log_at"), table_name="po_audit_log")
    op.drop_table("po_audit_log")
    op.drop_table("po_practitioners")
