"""Alerts: how many times in a row an alert reopened soon after it resolved. A condition that
comes and goes (a few rows an hour with a NULL release field, a rate at its threshold) opened
and resolved its alert every few hours; each such reopen doubles the normal time the next
resolve needs (`lookout.alerts.lifecycle`), which needs the count kept between windows.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("flaps", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("flaps")
