"""`lookout init` on a table whose event time is a Unix epoch number, not a timestamp
(`created_at BIGINT` in milliseconds: Kafka-sourced tables, ClickHouse `UInt64`, DynamoDB and
Mongo exports, MySQL `INT` unix time).

Such a column is the event time when no timestamp column is, its name says it is one
(`created_at`, `timestamp`, `ts`, `event_time`, `start_time`, ..., also with a unit tail:
`ts_ms`, `created_at_millis`), and every sampled value falls between 2000-01-01 and
2100-01-01 in exactly one of seconds, milliseconds and microseconds (their ranges are
disjoint: a magnitude says the unit). It is mapped as `ts` with `units: {ts: epoch_ms}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lookout.model.record import TIME_UNITS, UNIT_WORDS, epoch_bound, from_epoch
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import NAMES, normalized_name

__all__ = ["EpochTime", "epoch_time_column", "epoch_unit", "sample_times"]

_YEARS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
# name tails that say a time's unit (`ts_ms`, `created_at_millis`, `event_time_epoch`)
_UNIT_TAILS = ("_ms", "_millis", "_s", "_sec", "_us", "_micros", "_epoch", "_unix")
_TIME_NAMES = tuple(NAMES["ts"])  # best first


@dataclass(frozen=True)
class EpochTime:
    """The event time found as an epoch number: its column, unit and the reason in words."""

    column: str
    unit: str
    reason: str


def epoch_unit(p: ColumnProfile) -> str | None:
    """The one epoch unit every sampled number of `p` reads as a time of 2000-2099 in; None
    when it is no whole number, none or (a float of no unit's size) more than one fits."""
    if p.info.kind not in ("integer", "number") or not p.integral or p.non_null == 0:
        return None
    if p.minimum is None or p.maximum is None:
        return None
    fits = [
        unit
        for unit in TIME_UNITS
        if epoch_bound(_YEARS[0], unit) <= p.minimum and p.maximum < epoch_bound(_YEARS[1], unit)
    ]
    return fits[0] if len(fits) == 1 else None


def _time_name_rank(name: str) -> int | None:
    """Where the column's name stands among the event-time names (None: not one)."""
    normalized = normalized_name(name)
    for tail in ("", *_UNIT_TAILS):
        if normalized.endswith(tail):
            stem = normalized.removesuffix(tail) if tail else normalized
            if stem in _TIME_NAMES:
                return _TIME_NAMES.index(stem)
    return None


def epoch_time_column(profiles: Sequence[ColumnProfile]) -> EpochTime | None:
    """The integer column that is the event time, for a table with no timestamp for it: named
    like one and of one epoch unit by magnitude; the best-named when several are."""
    found = []
    for p in profiles:
        rank = _time_name_rank(p.name)
        unit = epoch_unit(p) if rank is not None else None
        if unit is not None and rank is not None:
            found.append((rank, p, unit))
    if not found:
        return None
    _, p, unit = min(found, key=lambda item: item[0])
    assert p.minimum is not None and p.maximum is not None
    first, last = (from_epoch(pd.Series([v]), unit)[0] for v in (p.minimum, p.maximum))
    reason = (
        f"named like the event time; integers that are {UNIT_WORDS[unit]} "
        f"({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC)"
    )
    return EpochTime(p.name, unit, reason)


def sample_times(values: pd.Series, unit: str | None) -> pd.Series:
    """Sampled event times as UTC timestamps, read as a window reads them: an epoch number in
    its unit, anything else as a timestamp (or text holding one); NaT where none."""
    if unit is not None:
        return from_epoch(values, unit)
    return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
