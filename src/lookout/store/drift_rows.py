"""Drift rows and reference profiles in the results store (used by `ResultsStore`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lookout.store import schema

__all__ = ["DriftRow", "load_profile", "read_drift", "replace_drift", "save_profile"]


@dataclass(frozen=True)
class DriftRow:
    """One column's drift verdict for a release x cohort, pooled over the period that ends with
    a window (`period_start` .. the window's end)."""

    release: str
    cohort: str
    column: str
    reference: str
    kind: str
    method: str
    score: float | None
    threshold: float
    drifted: bool | None
    status: str
    n_reference: int
    n_current: int
    report_path: str | None = None
    period_start: datetime | None = None
    group: str | None = None  # the feature group (the text field a feature comes from)
    gate: str | None = None  # the small-sample test the verdict also needed
    gate_p: float | None = None
    gate_level: float | None = None
    explained_by: str | None = None  # the cohort of the same release its drift comes from
    shift: str | None = None  # which way it moved: `median 412 -> 1,030, p90 ...`, `"es" 3% -> 41%`

    @property
    def alerting(self) -> bool:
        """Drifted, and not explained by a cohort: what the `drift.<column>` metric flags."""
        return bool(self.drifted) and self.explained_by is None


def replace_drift(
    conn: sa.Connection,
    monitor: str,
    start: datetime,
    end: datetime,
    rows: Sequence[DriftRow],
    run_id: str,
) -> None:
    d = schema.drift
    conn.execute(sa.delete(d).where(d.c.monitor == monitor, d.c.window_start == start))
    if rows:
        conn.execute(
            sa.insert(d),
            [
                {
                    "monitor": monitor,
                    "window_start": start,
                    "window_end": end,
                    "release": r.release,
                    "cohort": r.cohort,
                    "column_name": r.column,
                    "reference": r.reference,
                    "kind": r.kind,
                    "method": r.method,
                    "score": r.score,
                    "threshold": r.threshold,
                    "drifted": r.drifted,
                    "status": r.status,
                    "n_reference": r.n_reference,
                    "n_current": r.n_current,
                    "report_path": r.report_path,
                    "run_id": run_id,
                    "period_start": _naive(r.period_start),
                    "feature_group": r.group,
                    "gate": r.gate,
                    "gate_p": r.gate_p,
                    "gate_level": r.gate_level,
                    "explained_by": r.explained_by,
                    "shift": r.shift,
                }
                for r in rows
            ],
        )


def _naive(moment: datetime | None) -> datetime | None:
    """UTC without a zone, as the store keeps every time."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def read_drift(
    conn: sa.Connection, monitor: str, since: datetime | None = None
) -> list[dict[str, Any]]:
    d = schema.drift
    query = sa.select(d).where(d.c.monitor == monitor)
    if since is not None:
        query = query.where(d.c.window_start >= since)
    query = query.order_by(d.c.window_start, d.c.release, d.c.cohort, d.c.column_name)
    return [dict(row) for row in conn.execute(query).mappings()]


def load_profile(conn: sa.Connection, monitor: str, key: str) -> dict | None:
    p = schema.drift_profiles
    row = conn.execute(
        sa.select(p.c.profile).where(p.c.monitor == monitor, p.c.profile_key == key)
    ).first()
    return None if row is None else json.loads(row[0])


def save_profile(
    conn: sa.Connection, monitor: str, key: str, description: str, profile: dict, now: datetime
) -> None:
    p = schema.drift_profiles
    conn.execute(sa.delete(p).where(p.c.monitor == monitor, p.c.profile_key == key))
    conn.execute(
        sa.insert(p).values(
            monitor=monitor,
            profile_key=key,
            description=description,
            profile=json.dumps(profile),
            created_at=now,
        )
    )
