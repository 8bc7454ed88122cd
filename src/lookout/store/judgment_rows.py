"""Judgments in the results store: the cache lookup and the idempotent save."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lookout.model.judgments import Judgment
from lookout.store import schema

__all__ = ["cached_judgments", "read_judgments", "save_judgments"]

_CHUNK = 500


def cached_judgments(
    conn: sa.Connection, monitor: str, evaluator: str, version: str, record_ids: Iterable[str]
) -> dict[str, Judgment]:
    """The stored judgments of these records by this evaluator version (record id -> judgment)."""
    j = schema.judgments
    ids = list(record_ids)
    out: dict[str, Judgment] = {}
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(j).where(
            j.c.monitor == monitor,
            j.c.evaluator == evaluator,
            j.c.evaluator_version == version,
            j.c.record_id.in_(ids[start : start + _CHUNK]),
        )
        for row in conn.execute(query).mappings():
            out[row["record_id"]] = Judgment(
                record_id=row["record_id"],
                evaluator=row["evaluator"],
                evaluator_version=row["evaluator_version"],
                status=row["status"],
                score=row["score"],
                label=row["label"],
                reason=row["reason"],
                prompt_tokens=row["prompt_tokens"],
                completion_tokens=row["completion_tokens"],
                cost_usd=row["cost_usd"],
                latency_ms=row["latency_ms"],
            )
    return out


def save_judgments(
    conn: sa.Connection,
    monitor: str,
    window_start: datetime,
    releases: dict[str, str],
    judgments: Sequence[Judgment],
    judged_at: datetime,
) -> None:
    """Insert or replace (delete + insert, portable across SQLite and PostgreSQL)."""
    j = schema.judgments
    for start in range(0, len(judgments), _CHUNK):
        chunk = judgments[start : start + _CHUNK]
        by_key: dict[tuple[str, str], list[str]] = {}
        for item in chunk:
            by_key.setdefault((item.evaluator, item.evaluator_version), []).append(item.record_id)
        for (evaluator, version), ids in by_key.items():
            conn.execute(
                sa.delete(j).where(
                    j.c.monitor == monitor,
                    j.c.evaluator == evaluator,
                    j.c.evaluator_version == version,
                    j.c.record_id.in_(ids),
                )
            )
        conn.execute(
            sa.insert(j),
            [
                {
                    "monitor": monitor,
                    "record_id": item.record_id,
                    "evaluator": item.evaluator,
                    "evaluator_version": item.evaluator_version,
                    "window_start": window_start,
                    "release": releases.get(item.record_id, ""),
                    "status": item.status,
                    "score": item.score,
                    "label": item.label,
                    "reason": item.reason,
                    "prompt_tokens": item.prompt_tokens,
                    "completion_tokens": item.completion_tokens,
                    "cost_usd": item.cost_usd,
                    "latency_ms": item.latency_ms,
                    "judged_at": judged_at,
                }
                for item in chunk
            ],
        )


def read_judgments(
    conn: sa.Connection,
    monitor: str,
    evaluator: str | None = None,
    window_start: datetime | None = None,
) -> list[dict[str, Any]]:
    j = schema.judgments
    query = sa.select(j).where(j.c.monitor == monitor)
    if evaluator is not None:
        query = query.where(j.c.evaluator == evaluator)
    if window_start is not None:
        query = query.where(j.c.window_start == window_start)
    query = query.order_by(j.c.window_start, j.c.evaluator, j.c.record_id)
    return [dict(row) for row in conn.execute(query).mappings()]
