"""Both sides of a drift verdict as summaries: the rolling period, and the reference.

The current side of a window's verdicts is the merge of the stored drift summaries of the
windows of the trailing period (`drift.period`) and this window's own: any period is a merge,
never a re-read. The reference side is the merge of the reference period's stored summaries when
the store covers that period (every window processed, with its drift summaries, under the same
columns and cohort columns), else computed once from the warehouse; either way it is cached in
`drift_profiles` (a reference that moves with every window, a week ago, is not cached: it would
never hit).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.core.summary import Summary, SummaryError
from lookout.sources.drift_columns import DriftColumn
from lookout.sources.drift_summaries import (
    PREFIX,
    GroupKey,
    cross_summaries,
    window_summaries,
)
from lookout.stages.drift.reference import Reference
from lookout.stages.ports import DriftProfiles, DriftResults, DriftSource, StoredSummaries
from lookout.windows import Window

__all__ = [
    "ReferenceSide",
    "current_side",
    "drift_period",
    "mark",
    "reference_cross",
    "reference_side",
    "signature",
]

log = logging.getLogger("lookout.drift")

PROFILE_FORMAT = "summaries-1"
# Decoded cache entries, per process (a backfill or the demo runs many windows against one
# reference; decoding its summaries each window cost ~0.1 s). Entries never change for a key
# (same inputs, same summaries) and nothing mutates a decoded summary (merges copy).
_DECODED: dict[tuple[str, str, str], Any] = {}
_DECODED_MAX = 64


def _remember(key: tuple[str, str, str], value: Any) -> Any:
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.pop(next(iter(_DECODED)))
    _DECODED[key] = value
    return value


def drift_period(monitor: Monitor, window: Window) -> Window:
    """The period a window's verdicts pool: `drift.period` rounded up to whole windows, ending
    with the window."""
    size = window.end - window.start
    count = max(1, math.ceil(monitor.drift.period / size))
    return Window(window.end - count * size, window.end)


def signature(
    columns: Sequence[DriftColumn], dimensions: Sequence[str | None], cap: CohortCap
) -> list[str]:
    """What a reference's summaries depend on besides its period: columns, cohort columns, and
    the cohort values kept apart (the cap is stable, so the cache still hits window after
    window)."""
    kept = [f"cap:{d}:{','.join(sorted(cap.kept[d]))}" for d in sorted(cap.kept)]
    return _shape(columns, dimensions) + kept


def _shape(columns: Sequence[DriftColumn], dimensions: Sequence[str | None]) -> list[str]:
    return [f"{c.name}:{c.kind}:{c.field}:{c.feature}" for c in columns] + [
        f"dim:{d}" for d in dimensions
    ]


def mark(columns: Sequence[DriftColumn], dimensions: Sequence[str | None], reading: str) -> str:
    """A count key every drift summary carries (value 1 per window): stored summaries stand
    for a reference only when each window of it was summarised with these columns and cohort
    columns, over the rows the source reads now (`SourceConfig.reading`: a config change
    would otherwise compare features one side lacks, or all environments with production)."""
    shape = [*_shape(columns, dimensions), reading] if reading else _shape(columns, dimensions)
    digest = hashlib.sha256("|".join(shape).encode()).hexdigest()[:12]
    return f"{PREFIX}shape:{digest}"


def current_side(
    store: StoredSummaries,
    monitor: Monitor,
    period: Window,
    window: Window,
    releases: Iterable[str],
    this_window: dict[GroupKey, Summary],
) -> dict[GroupKey, Summary]:
    """(release, cohort) -> the merge of the period's stored drift summaries and this
    window's, for `releases`. A stored summary that cannot be read fails the window."""
    wanted = sorted(set(releases))
    out: dict[GroupKey, Summary] = {}
    if wanted and period.start < window.start:
        stored = store.summaries(
            monitor.name, period.start, window.start, releases=wanted, stages=["drift"]
        )
        for group, parts in stored.items():
            merged = out.setdefault(group, Summary(windows=0))
            for _, part in parts:
                merged.merge(part)
    for group, summary in this_window.items():
        if group[0] in wanted:
            out.setdefault(group, Summary(windows=0)).merge(summary)
    return out


@dataclass
class ReferenceSide:
    """cohort -> the reference's summary; where it came from (cache, store or warehouse)."""

    groups: dict[str, Summary]
    source: str


def _encode(groups: dict[str, Summary], source: str) -> dict:
    return {
        "format": PROFILE_FORMAT,
        "source": source,
        "groups": {
            cohort: base64.b64encode(summary.to_bytes()).decode("ascii")
            for cohort, summary in groups.items()
        },
    }


def _decode(data: dict) -> dict[str, Summary]:
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise SummaryError("not a reference profile of this version")
    try:
        return {
            str(cohort): Summary.from_bytes(base64.b64decode(blob, validate=True))
            for cohort, blob in dict(data["groups"]).items()
        }
    except (TypeError, ValueError, KeyError) as exc:
        raise SummaryError(f"reference profile cannot be read: {exc}") from None


def _from_store(
    store: StoredSummaries,
    monitor: Monitor,
    reference: Reference,
    size: object,
    shape: str,
) -> dict[str, Summary] | None:
    """The reference period's stored drift summaries merged per cohort, or None when the store
    does not cover the period (a window not processed, or not summarised with these columns)."""
    period = reference.period
    if store.summary_gaps(monitor.name, "drift", period.start, period.end, size):  # type: ignore[arg-type]
        return None
    releases = None if reference.release_label is None else [reference.release_label]
    stored = store.summaries(  # merged once and kept in drift_profiles: no need to keep parts
        monitor.name, period.start, period.end, releases=releases, stages=["drift"], cached=False
    )
    groups: dict[str, Summary] = {}
    for (_, cohort), parts in stored.items():
        for _, part in parts:
            if part.count(shape) != 1.0:
                return None  # summarised under other columns: not this reference's shape
            groups.setdefault(cohort, Summary(windows=0)).merge(part)
    return groups if groups else None


def reference_side(
    warehouse: DriftSource,
    store: DriftResults,
    monitor: Monitor,
    reference: Reference,
    columns: Sequence[DriftColumn],
    dimensions: Sequence[str | None],
    window_size: object,
    now: datetime,
    cap: CohortCap | None = None,
) -> ReferenceSide:
    """cohort -> the reference's drift summary: cached, else pooled from the store, else
    computed from the warehouse (and cached)."""
    cap = cap or CohortCap()
    key = reference.key(monitor, signature(columns, dimensions, cap))
    memo = (store.display_url, monitor.name, key)
    if not reference.slides and memo in _DECODED:
        return ReferenceSide(_DECODED[memo], "cache")
    if not reference.slides:
        cached = store.drift_profile(monitor.name, key)
        if cached is not None:
            try:
                return ReferenceSide(_remember(memo, _decode(cached)), "cache")
            except SummaryError as exc:  # a cache entry: recomputed, and replaced below
                log.warning(
                    "monitor %s: cached reference %s unreadable (%s); computing it again",
                    monitor.name,
                    reference.description,
                    exc,
                )
    # a stored summary that cannot be read raises StoreError: it fails the window
    groups = _from_store(
        store, monitor, reference, window_size, mark(columns, dimensions, monitor.source.reading)
    )
    source = "store"
    if groups is None:
        source = "warehouse"
        summaries = window_summaries(
            warehouse,
            monitor,
            columns,
            reference.period,
            release=reference.release_values,
            dimensions=dimensions,
            max_rows=monitor.drift.max_rows,
            cap=cap,
        )
        groups = {}
        for (_, cohort), summary in summaries.items():  # every release of the period together
            groups.setdefault(cohort, Summary(windows=0)).merge(summary, same_window=True)
    if not reference.slides:
        store.save_drift_profile(
            monitor.name, key, reference.description, _encode(groups, source), now
        )
        _remember(memo, groups)
    return ReferenceSide(groups, source)


def reference_cross(
    warehouse: DriftSource,
    store: DriftProfiles,
    monitor: Monitor,
    reference: Reference,
    columns: Sequence[DriftColumn],
    dimensions: Sequence[str],
    now: datetime,
    cap: CohortCap | None = None,
) -> dict[tuple[str, ...], Summary]:
    """The reference's `cross_summaries` (what attribution takes apart), cached like its
    summaries: a drift that lasts reads the reference once."""
    cap = cap or CohortCap()
    key = reference.key(monitor, ["cross", *signature(columns, list(dimensions), cap)])
    memo = (store.display_url, monitor.name, key)
    if not reference.slides and memo in _DECODED:
        return _DECODED[memo]  # type: ignore[no-any-return]
    if not reference.slides:
        cached = store.drift_profile(monitor.name, key)
        if isinstance(cached, dict) and cached.get("format") == PROFILE_FORMAT:
            try:
                decoded = {
                    tuple(str(label) for label in labels): Summary.from_bytes(
                        base64.b64decode(blob, validate=True)
                    )
                    for labels, blob in cached["cross"]
                }
                return _remember(memo, decoded)  # type: ignore[no-any-return]
            except (TypeError, ValueError, KeyError) as exc:
                log.warning(
                    "monitor %s: cached attribution reference unreadable (%s); reading it again",
                    monitor.name,
                    exc,
                )
    cross = cross_summaries(
        warehouse,
        monitor,
        columns,
        reference.period,
        reference.release_values,
        list(dimensions),
        cap,
    )
    if not reference.slides:
        data = {
            "format": PROFILE_FORMAT,
            "cross": [
                [list(labels), base64.b64encode(summary.to_bytes()).decode("ascii")]
                for labels, summary in cross.items()
            ],
        }
        store.save_drift_profile(
            monitor.name, key, f"{reference.description} (by cohort pairs)", data, now
        )
        _remember(memo, cross)
    return cross
