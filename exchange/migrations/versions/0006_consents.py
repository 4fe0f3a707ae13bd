"""Consents: the borrowers' consents members register, checked and traced by lookups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("member_code", sa.String(12), nullable=False),
        sa.Column("consent_ref", sa.String(128), nullable=False),
        sa.Column("borrower_key", sa.String(64), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_code"], ["institutions.code"], name="fk_consents_member_code_institutions"
        ),
        sa.PrimaryKeyConstraint("member_code", "consent_ref", name="pk_consents"),
    )
    op.create_index("ix_consents_borrower_key", "consents", ["borrower_key"])


def downgrade() -> None:
    op.drop_index("ix_consents_borrower_key", table_name="consents")
    op.drop_table("consents")
