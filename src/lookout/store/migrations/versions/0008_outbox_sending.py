"""Exactly-once Slack delivery: when a send that may have reached Slack started.

Set in its own transaction before a message is sent and cleared once its outcome is known, so a
process killed mid-send (or a timeout after Slack accepted the message) leaves a mark: the next
delivery looks the message up in Slack before sending it again.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sending_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sending_at")
