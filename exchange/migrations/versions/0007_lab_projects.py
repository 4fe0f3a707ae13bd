"""Data laboratory: projects, their analysts, and users' lab passwords (argon2id hashes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
    op.create_table(
        "lab_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("datasets", sa.String(200), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("applicant", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("extract_sha256", sa.String(64), nullable=True),
        sa.Column("extract_rows", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lab_projects"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "lab_project_analysts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["lab_projects.id"],
            name="fk_lab_project_analysts_project_id_lab_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_lab_project_analysts_user_id_users"
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name="pk_lab_project_analysts"),
    )
    op.create_index("ix_lab_project_analysts_user_id", "lab_project_analysts", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_lab_project_analysts_user_id", table_name="lab_project_analysts")
    op.drop_table("lab_project_analysts")
    op.drop_table("lab_projects")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
