"""Disputes: a person's objection to a member's records, on the 20-day clock.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
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
        "disputes",
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("member_code", sa.String(12), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("borrower_key", sa.String(64), nullable=False),
        sa.Column("records_from", sa.Date(), nullable=True),
        sa.Column("records_to", sa.Date(), nullable=True),
        sa.Column("statement", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("evidence", sa.String(2000), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(100), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_code"], ["institutions.code"], name="fk_disputes_member_code_institutions"
        ),
        sa.PrimaryKeyConstraint("case_no", name="pk_disputes"),
    )
    op.create_index("ix_disputes_member_code", "disputes", ["member_code"])
    op.create_index("ix_disputes_borrower_key", "disputes", ["borrower_key"])


def downgrade() -> None:
    op.drop_index("ix_disputes_borrower_key", table_name="disputes")
    op.drop_index("ix_disputes_member_code", table_name="disputes")
    op.drop_table("disputes")
