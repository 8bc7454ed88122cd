"""Initial results store: runs, windows, metrics, watermarks, alerts, outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("metric_path", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_runs_monitor_window", "runs", ["monitor", "window_start"])
    op.create_table(
        "windows",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("max_ingested_at", sa.DateTime(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("release", sa.String(256), primary_key=True),
        sa.Column("cohort", sa.String(256), primary_key=True),
        sa.Column("metric", sa.String(128), primary_key=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_metrics_release", "metrics", ["monitor", "release", "metric"])
    op.create_table(
        "watermarks",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("frontier", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("release", sa.String(256), nullable=False),
        sa.Column("cohort", sa.String(256), nullable=False),
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(4), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("op", sa.String(2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("first_window_start", sa.DateTime(), nullable=False),
        sa.Column("last_window_start", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("runbook", sa.Text(), nullable=True),
    )
    op.create_index("ix_alerts_monitor_state", "alerts", ["monitor", "state"])
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(128), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("slack_ts", sa.String(64), nullable=True),
    )
    op.create_index("ix_outbox_status", "outbox", ["status", "created_at"])


def downgrade() -> None:
    for name in ("outbox", "alerts", "watermarks", "metrics", "windows", "runs"):
        op.drop_table(name)
