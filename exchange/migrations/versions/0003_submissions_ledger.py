"""The ingest ledger: one row per submitted file, load_seq never reused.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('received', 'loading', 'accepted', 'partially_accepted')"


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("load_seq", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.String(32), nullable=False),
        sa.Column("member_code", sa.String(12), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("dq_score", sa.Float(), nullable=True),
        sa.Column("duplicate_of", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_code"],
            ["institutions.code"],
            name="fk_submissions_member_code_institutions",
        ),
        sa.PrimaryKeyConstraint("load_seq", name="pk_submissions"),
        sa.UniqueConstraint("load_id", name="uq_submissions_load_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_submissions_member_code", "submissions", ["member_code"])
    op.create_index(
        "uq_submissions_live_sha256",
        "submissions",
        ["member_code", "sha256"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_submissions_live_sha256", table_name="submissions")
    op.drop_index("ix_submissions_member_code", table_name="submissions")
    op.drop_table("submissions")
