"""Drift verdicts: which way a column moved (`median 412 -> 1,030, p90 905 -> 2,410`, or the
category whose share moved most), so an alert and the index say where it went, not only how far.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drift") as batch:
        batch.add_column(sa.Column("shift", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drift") as batch:
        batch.drop_column("shift")
