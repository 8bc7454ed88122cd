"""Validation results and quarantined records; windows remember quarantine and flags.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "validations",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("release", sa.String(256), primary_key=True),
        sa.Column("expectation", sa.String(128), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("column_name", sa.String(128), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("element_count", sa.Integer(), nullable=True),
        sa.Column("unexpected_count", sa.Integer(), nullable=True),
        sa.Column("unexpected_percent", sa.Float(), nullable=True),
        sa.Column("observed", sa.Text(), nullable=True),
        sa.Column("examples", sa.Text(), nullable=True),
        sa.Column("path", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("record_id", sa.String(256), primary_key=True),
        sa.Column("release", sa.String(256), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("quarantined", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("flag", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("flag")
        batch.drop_column("quarantined")
    op.drop_table("quarantine")
    op.drop_table("validations")
