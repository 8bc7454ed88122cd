"""Drift verdicts over a rolling period: the period each verdict pools, the feature group a
column belongs to, the small-sample test a verdict also needed, and the cohort value that
explains a drift of its parents.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = (
    ("period_start", sa.DateTime()),
    ("feature_group", sa.String(128)),
    ("gate", sa.String(32)),
    ("gate_p", sa.Float()),
    ("gate_level", sa.Float()),
    ("explained_by", sa.String(256)),
)


def upgrade() -> None:
    with op.batch_alter_table("drift") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drift") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
