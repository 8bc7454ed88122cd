"""Alerts: where a pooled value starts. A rule evaluates a window with too few records (or an
`over:` lookback) on the records of several windows; `pooled_from` is the start of the first,
so a message and `lookout alerts` say the value's period, not only the window's.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("pooled_from", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("pooled_from")
