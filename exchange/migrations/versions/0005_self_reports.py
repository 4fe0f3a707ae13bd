"""Self-reports: each person's own report produced by staff (two free per calendar year).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "self_reports",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("borrower_key", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff", sa.String(100), nullable=False),
        sa.Column("fee", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_self_reports"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_self_reports_borrower_key", "self_reports", ["borrower_key"])


def downgrade() -> None:
    op.drop_index("ix_self_reports_borrower_key", table_name="self_reports")
    op.drop_table("self_reports")
