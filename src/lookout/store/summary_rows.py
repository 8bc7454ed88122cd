"""Stored per-window summaries (mergeable sketches, counts, histograms) by stage, release and
cohort: any lookback is a merge of these, never a re-read of the warehouse."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from lookout.core.summary import Summary, SummaryError
from lookout.errors import StoreError
from lookout.store import schema
from lookout.store.summary_cache import DecodedSummaries, PartKey
from lookout.store.times import db_time, utc

__all__ = ["read_summaries", "replace_summaries", "summary_gaps", "summary_versions"]

_db_time = db_time
_utc = utc


def replace_summaries(
    conn: sa.Connection,
    monitor: str,
    start: datetime,
    end: datetime,
    summaries: Mapping[tuple[str, str, str], Summary],
    stages_run: Iterable[str],
    run_id: str,
) -> None:
    """The window's summaries of the stages that ran (a stage not re-run keeps its own)."""
    t = schema.summaries
    stages = set(stages_run) | {stage for stage, _, _ in summaries}
    if not stages:
        return
    conn.execute(
        sa.delete(t).where(
            t.c.monitor == monitor,
            t.c.window_start == start,
            t.c.stage.in_(sorted(stages)),
        )
    )
    if summaries:
        conn.execute(
            sa.insert(t),
            [
                {
                    "monitor": monitor,
                    "window_start": start,
                    "window_end": end,
                    "release": release,
                    "cohort": cohort,
                    "stage": stage,
                    "payload": summary.to_bytes(),
                    "run_id": run_id,
                }
                for (stage, release, cohort), summary in summaries.items()
            ],
        )


def read_summaries(
    conn: sa.Connection,
    display_url: str,
    monitor: str,
    since: datetime,
    until: datetime,
    *,
    releases: Iterable[str] | None = None,
    stages: Iterable[str] | None = None,
    cohorts: Iterable[str] | None = None,
    cache: DecodedSummaries | None = None,
) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]:
    """(release, cohort) -> [(window start, summary)] of the windows in [since, until),
    oldest first, the stages' parts of a window merged. A row that cannot be read fails
    with a StoreError naming it (never a silently smaller pool). With a `cache`, parts it
    holds under the same run id are not read again; the summaries returned may then be
    shared with later reads: merge them into your own, never change them."""
    t = schema.summaries
    where = [
        t.c.monitor == monitor,
        t.c.window_start >= _db_time(since),
        t.c.window_start < _db_time(until),
    ]
    if releases is not None:
        where.append(t.c.release.in_(sorted(set(releases))))
    if stages is not None:
        where.append(t.c.stage.in_(sorted(set(stages))))
    if cohorts is not None:
        where.append(t.c.cohort.in_(sorted(set(cohorts))))
    parts: dict[tuple[str, str], dict[datetime, list[Summary]]] = {}
    columns = (t.c.window_start, t.c.release, t.c.cohort, t.c.stage, t.c.run_id)
    unread: set[datetime] = set()
    # nothing kept yet (a run's first read): one query for every payload, as without a cache
    read_all = cache is None or not len(cache)
    if not read_all:
        # which parts there are and who wrote them (no payloads), then only the windows that
        # hold a part the cache does not have
        keys = conn.execute(sa.select(*columns).where(*where).order_by(t.c.window_start))
        held: list[tuple[tuple[str, str], datetime, Summary]] = []
        for row in keys:
            start = _utc(row.window_start)
            part = cache.get(_key(monitor, start, row))  # type: ignore[union-attr]
            if part is None:
                unread.add(start)
            else:
                held.append(((row.release, row.cohort), start, part))
        for group, start, part in held:
            if start not in unread:
                parts.setdefault(group, {}).setdefault(start, []).append(part)
        where = [*where, t.c.window_start.in_(sorted(_db_time(s) for s in unread))]
    if read_all or unread:
        query = sa.select(*columns, t.c.payload).where(*where).order_by(t.c.window_start)
        for row in conn.execute(query):
            start = _utc(row.window_start)
            try:
                part = Summary.from_bytes(row.payload)
            except SummaryError as exc:
                raise StoreError(
                    f"results store {display_url}: summary of {monitor} "
                    f"{row.window_start:%Y-%m-%d %H:%M} {row.release} {row.cohort} "
                    f"({row.stage}): {exc}"
                ) from None
            if cache is not None:
                cache.put(_key(monitor, start, row), part)
            parts.setdefault((row.release, row.cohort), {}).setdefault(start, []).append(part)
    return {
        group: [(start, _one_window(found)) for start, found in sorted(windows.items())]
        for group, windows in parts.items()
    }


def _key(monitor: str, start: datetime, row: sa.Row) -> PartKey:
    return (monitor, start, row.release, row.cohort, row.stage, str(row.run_id))


def _one_window(found: list[Summary]) -> Summary:
    """A window's summary from its stages' parts (a new one when there are several, so the
    parts themselves, which a cache may share, are left as they are)."""
    if len(found) == 1:
        return found[0]
    merged = Summary(windows=0).merge(found[0])
    for part in found[1:]:
        merged.merge(part, same_window=True)
    return merged


def summary_versions(
    conn: sa.Connection,
    monitor: str,
    since: datetime,
    until: datetime,
    *,
    stages: Iterable[str],
    cohorts: Iterable[str] | None = None,
) -> frozenset[tuple[datetime, str]]:
    """(window start, run id) of every stored summary part in [since, until) of `stages` and
    `cohorts` (None: every cohort), without their payloads: equal sets mean the same stored
    summaries (a re-run of a window writes a new run id), so a caller may keep what it merged
    from them."""
    t = schema.summaries
    query = (
        sa.select(t.c.window_start, t.c.run_id)
        .where(
            t.c.monitor == monitor,
            t.c.window_start >= _db_time(since),
            t.c.window_start < _db_time(until),
            t.c.stage.in_(sorted(set(stages))),
        )
        .distinct()
    )
    if cohorts is not None:
        query = query.where(t.c.cohort.in_(sorted(set(cohorts))))
    return frozenset((_utc(r.window_start), str(r.run_id)) for r in conn.execute(query))


def summary_gaps(
    conn: sa.Connection,
    monitor: str,
    stage: str,
    since: datetime,
    until: datetime,
    size: timedelta,
) -> list[datetime]:
    """Starts of the windows of [since, until) (every `size` from `since`) whose stored
    summaries of `stage` cannot stand for them: not processed, or processed with rows and
    no summary of that stage (it was off, or not run then). Empty: the store covers it."""
    w, t = schema.windows, schema.summaries
    low, high = _db_time(since), _db_time(until)
    rows = {
        _utc(r.window_start): int(r.rows)
        for r in conn.execute(
            sa.select(w.c.window_start, w.c.rows).where(
                w.c.monitor == monitor, w.c.window_start >= low, w.c.window_start < high
            )
        )
    }
    summarised = {
        _utc(r[0])
        for r in conn.execute(
            sa.select(t.c.window_start)
            .where(
                t.c.monitor == monitor,
                t.c.stage == stage,
                t.c.window_start >= low,
                t.c.window_start < high,
            )
            .distinct()
        )
    }
    gaps = []
    start = since
    while start < until:
        if start not in rows or (rows[start] and start not in summarised):
            gaps.append(start)
        start += size
    return gaps
