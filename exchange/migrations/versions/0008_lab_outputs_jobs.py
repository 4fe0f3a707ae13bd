"""Data laboratory: output release requests and model-to-data jobs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lab_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("script", sa.String(200), nullable=False),
        sa.Column("script_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("max_rss_kb", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["lab_projects.id"], name="fk_lab_jobs_project_id_lab_projects"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lab_jobs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lab_jobs_project_id", "lab_jobs", ["project_id"])
    op.create_table(
        "lab_output_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["lab_projects.id"],
            name="fk_lab_output_requests_project_id_lab_projects",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["lab_jobs.id"], name="fk_lab_output_requests_job_id_lab_jobs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lab_output_requests"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lab_output_requests_project_id", "lab_output_requests", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_lab_output_requests_project_id", table_name="lab_output_requests")
    op.drop_table("lab_output_requests")
    op.drop_index("ix_lab_jobs_project_id", table_name="lab_jobs")
    op.drop_table("lab_jobs")
