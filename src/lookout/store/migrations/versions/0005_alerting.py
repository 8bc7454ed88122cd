"""Alerting: the Slack channel id of each sent message (a resolve replies in its thread and
updates it), and silences.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("slack_channel", sa.String(64), nullable=True))
    op.create_table(
        "silences",
        sa.Column("silence_id", sa.String(32), primary_key=True),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("silences")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("slack_channel")
