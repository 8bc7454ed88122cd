"""Mergeable per-window summaries (the primitive every pooled metric comes from), and what
persistence and hysteresis need on alerts: breaching evaluations in a row, the newest breaching
window, and whether a pending alert follows an earlier episode.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summaries",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("release", sa.String(256), primary_key=True),
        sa.Column("cohort", sa.String(256), primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("breaches", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_breach_window", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("resolved_before", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("resolved_before")
        batch.drop_column("last_breach_window")
        batch.drop_column("breaches")
    op.drop_table("summaries")
