"""Windows, runs and watermarks in the results store: which windows are stored (rows read,
newest ingestion time, quarantine count), every run of a window, and the frontier that moves
only over contiguous stored windows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lookout.store import schema
from lookout.store.times import db_time, utc
from lookout.windows import Window

__all__ = [
    "advance",
    "insert_run",
    "locked_frontier",
    "processed_windows",
    "read_runs",
    "read_watermark",
    "replace_window",
    "window_rows",
]


def read_watermark(conn: sa.Connection, monitor: str) -> datetime | None:
    wm = schema.watermarks
    return utc(conn.scalar(sa.select(wm.c.frontier).where(wm.c.monitor == monitor)))


def processed_windows(
    conn: sa.Connection, monitor: str, since: datetime
) -> dict[Window, datetime | None]:
    """Windows with results from `since` on, with the newest `ingested_at` each one saw."""
    w = schema.windows
    rows = conn.execute(
        sa.select(w.c.window_start, w.c.window_end, w.c.max_ingested_at).where(
            w.c.monitor == monitor, w.c.window_start >= db_time(since)
        )
    ).all()
    return {
        Window(utc(r.window_start), utc(r.window_end)): utc(r.max_ingested_at)  # type: ignore[arg-type]
        for r in rows
    }


def read_runs(conn: sa.Connection, monitor: str | None = None) -> list[dict[str, Any]]:
    r = schema.runs
    query = sa.select(r).order_by(r.c.started_at)
    if monitor is not None:
        query = query.where(r.c.monitor == monitor)
    return [dict(row) for row in conn.execute(query).mappings()]


def window_rows(
    conn: sa.Connection, monitor: str, starts: Iterable[datetime]
) -> dict[datetime, int]:
    """Rows of the processed windows starting at `starts` (the seasonal baseline)."""
    w = schema.windows
    wanted = [db_time(s) for s in starts]
    if not wanted:
        return {}
    query = sa.select(w.c.window_start, w.c.rows).where(
        w.c.monitor == monitor, w.c.window_start.in_(wanted)
    )
    return {utc(r.window_start): int(r.rows) for r in conn.execute(query)}  # type: ignore[misc]


def replace_window(
    conn: sa.Connection,
    *,
    monitor: str,
    start: datetime,
    end: datetime,
    run_id: str,
    rows: int,
    max_ingested_at: datetime | None,
    computed_at: datetime,
    quarantined: int,
    flag: str | None,
    keep_validation: bool,
) -> None:
    """The window's row; with `keep_validation` (validation not re-run) its stored
    quarantine count and flag stay."""
    w = schema.windows
    if keep_validation:
        before = conn.execute(
            sa.select(w.c.quarantined, w.c.flag).where(
                w.c.monitor == monitor, w.c.window_start == start
            )
        ).first()
        if before is not None:
            quarantined, flag = before.quarantined, before.flag
    conn.execute(sa.delete(w).where(w.c.monitor == monitor, w.c.window_start == start))
    conn.execute(
        sa.insert(w).values(
            monitor=monitor,
            window_start=start,
            window_end=end,
            run_id=run_id,
            rows=rows,
            max_ingested_at=db_time(max_ingested_at),
            computed_at=db_time(computed_at),
            quarantined=quarantined,
            flag=flag,
        )
    )


def insert_run(conn: sa.Connection, **values: Any) -> None:
    """One run of a window (succeeded or failed); times are stored as naive UTC."""
    for key in ("window_start", "window_end", "started_at", "finished_at"):
        if key in values:
            values[key] = db_time(values[key])
    conn.execute(sa.insert(schema.runs).values(**values))


def locked_frontier(conn: sa.Connection, monitor: str, initial: datetime) -> datetime:
    """The monitor's frontier, row-locked for this transaction (created at `initial`)."""
    wm = schema.watermarks
    current = conn.scalar(sa.select(wm.c.frontier).where(wm.c.monitor == monitor).with_for_update())
    if current is None:
        conn.execute(
            sa.insert(wm).values(
                monitor=monitor, frontier=db_time(initial), updated_at=db_time(datetime.now(UTC))
            )
        )
        return initial
    return utc(current)  # type: ignore[return-value]


def advance(conn: sa.Connection, monitor: str, frontier: datetime, run_id: str) -> datetime:
    """Move the frontier over every contiguous processed window; never past a gap."""
    w = schema.windows
    rows = conn.execute(
        sa.select(w.c.window_start, w.c.window_end)
        .where(w.c.monitor == monitor, w.c.window_start >= db_time(frontier))
        .order_by(w.c.window_start)
    ).all()
    cursor = db_time(frontier)
    for row in rows:
        if row.window_start != cursor:
            break
        cursor = row.window_end
    new_frontier = utc(cursor)
    if new_frontier != frontier:
        wm = schema.watermarks
        conn.execute(
            sa.update(wm)
            .where(wm.c.monitor == monitor)
            .values(frontier=cursor, updated_at=db_time(datetime.now(UTC)), run_id=run_id)
        )
    return new_frontier  # type: ignore[return-value]
