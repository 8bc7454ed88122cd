"""Drift verdicts per window x release x cohort x column, and cached reference profiles.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("release", sa.String(256), primary_key=True),
        sa.Column("cohort", sa.String(256), primary_key=True),
        sa.Column("column_name", sa.String(128), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("reference", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("n_reference", sa.Integer(), nullable=False),
        sa.Column("n_current", sa.Integer(), nullable=False),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "drift_profiles",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("profile_key", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drift_profiles")
    op.drop_table("drift")
