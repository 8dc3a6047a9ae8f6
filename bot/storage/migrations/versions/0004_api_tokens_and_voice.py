"""API tokens for the read-only FHIR API; statements remember whether they were transcribed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "po_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_po_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_po_api_tokens_token_hash")),
    )
    with op.batch_alter_table("po_statements") as batch:
        batch.add_column(
            sa.Column("transcribed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("po_statements") as batch:
        batch.drop_column("transcribed")
    op.drop_table("po_api_tokens")
