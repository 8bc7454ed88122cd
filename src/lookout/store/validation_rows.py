"""Validation rows of the results store: each window's expectation outcomes per release, and
the records it quarantined (ids and the critical checks they failed)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lookout.model.expectations import ExpectationOutcome
from lookout.store import schema
from lookout.store.times import db_time
from lookout.windows import Window

__all__ = ["quarantined_ids", "read_quarantined", "read_validations", "replace_validation"]

_db_time = db_time


def replace_validation(
    conn: sa.Connection,
    monitor: str,
    start: datetime,
    end: datetime,
    outcomes: Sequence[ExpectationOutcome],
    quarantine: Mapping[str, tuple[str, tuple[str, ...]]],
    run_id: str,
) -> None:
    """The window's expectation outcomes and quarantined record ids, replacing a re-run's."""
    for table in (schema.validations, schema.quarantine):
        conn.execute(
            sa.delete(table).where(table.c.monitor == monitor, table.c.window_start == start)
        )
    if outcomes:
        conn.execute(
            sa.insert(schema.validations),
            [
                {
                    "monitor": monitor,
                    "window_start": start,
                    "window_end": end,
                    "release": o.release,
                    "expectation": o.name,
                    "kind": o.kind,
                    "column_name": o.column,
                    "severity": o.severity,
                    "status": o.status,
                    "element_count": o.element_count,
                    "unexpected_count": o.unexpected_count,
                    "unexpected_percent": o.unexpected_percent,
                    "observed": o.observed,
                    "examples": json.dumps(list(o.examples)),
                    "path": o.path,
                    "error": o.error,
                    "run_id": run_id,
                }
                for o in outcomes
            ],
        )
    if quarantine:
        conn.execute(
            sa.insert(schema.quarantine),
            [
                {
                    "monitor": monitor,
                    "window_start": start,
                    "record_id": record_id,
                    "release": release,
                    "reasons": ",".join(reasons),
                    "run_id": run_id,
                }
                for record_id, (release, reasons) in quarantine.items()
            ],
        )


def read_validations(
    conn: sa.Connection,
    monitor: str,
    status: str | None = None,
    *,
    window_start: datetime | None = None,
) -> list[dict[str, Any]]:
    v = schema.validations
    query = sa.select(v).where(v.c.monitor == monitor)
    if status is not None:
        query = query.where(v.c.status == status)
    if window_start is not None:
        query = query.where(v.c.window_start == _db_time(window_start))
    query = query.order_by(v.c.window_start, v.c.release, v.c.expectation)
    return [dict(row) for row in conn.execute(query).mappings()]


def read_quarantined(
    conn: sa.Connection, monitor: str, *, window_start: datetime | None = None
) -> list[dict[str, Any]]:
    q = schema.quarantine
    query = sa.select(q).where(q.c.monitor == monitor).order_by(q.c.window_start, q.c.record_id)
    if window_start is not None:
        query = query.where(q.c.window_start == _db_time(window_start))
    return [dict(row) for row in conn.execute(query).mappings()]


def quarantined_ids(conn: sa.Connection, monitor: str, window: Window) -> set[str]:
    """Record ids a window's stored validation quarantined."""
    q = schema.quarantine
    query = sa.select(q.c.record_id).where(
        q.c.monitor == monitor, q.c.window_start == _db_time(window.start)
    )
    return set(conn.scalars(query))
