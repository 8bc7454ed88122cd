"""Alert history: every transition of every alert (open, escalate, reminder, resolve, stale,
...), with its window, value, n, reference and severity, so episodes survive a reopen and
`lookout alerts history` / `stats` can answer how often a rule fired and how fast it resolved.
The `alerts` table keeps only each alert's latest state.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_history",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("event", sa.String(16), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("release", sa.String(256), nullable=False),
        sa.Column("cohort", sa.String(256), nullable=False),
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(4), nullable=False),
        sa.Column("previous_severity", sa.String(4), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("reference", sa.Float(), nullable=True),
        sa.Column("reference_label", sa.Text(), nullable=True),
        sa.Column("first_window_start", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_alert_history_rule", "alert_history", ["monitor", "rule", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_alert_history_rule", table_name="alert_history")
    op.drop_table("alert_history")
