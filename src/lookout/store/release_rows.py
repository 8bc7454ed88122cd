"""Read-only queries over the stored metrics: which releases a monitor has seen, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from lookout.store import schema
from lookout.store.times import utc

__all__ = ["ReleaseTraffic", "release_traffic"]


@dataclass(frozen=True)
class ReleaseTraffic:
    """One release of one monitor: its windows with records, and their span."""

    release: str
    windows: int
    records: int
    first_seen: datetime  # start of the first window it had records in
    last_seen: datetime  # end of the last one


def release_traffic(engine: sa.Engine, monitor: str) -> list[ReleaseTraffic]:
    """Every release of `monitor` with stored results, first seen first."""
    m = schema.metrics
    query = (
        sa.select(
            m.c.release,
            sa.func.count().label("windows"),
            sa.func.sum(m.c.n).label("records"),
            sa.func.min(m.c.window_start).label("first_seen"),
            sa.func.max(m.c.window_end).label("last_seen"),
        )
        .where(m.c.monitor == monitor, m.c.metric == "request_count", m.c.cohort == "*")
        .group_by(m.c.release)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = [
        ReleaseTraffic(
            str(row.release),
            int(row.windows),
            int(row.records or 0),
            utc(row.first_seen),  # type: ignore[arg-type]
            utc(row.last_seen),  # type: ignore[arg-type]
        )
        for row in rows
    ]
    return sorted(out, key=lambda r: (r.first_seen, r.release))
