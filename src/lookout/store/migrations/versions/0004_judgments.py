"""Judgments of evaluators and LLM judges: the judge cache and the per-release results.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgments",
        sa.Column("monitor", sa.String(128), primary_key=True),
        sa.Column("record_id", sa.String(256), primary_key=True),
        sa.Column("evaluator", sa.String(128), primary_key=True),
        sa.Column("evaluator_version", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("release", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("label", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("judged_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_judgments_window", "judgments", ["monitor", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_judgments_window", table_name="judgments")
    op.drop_table("judgments")
