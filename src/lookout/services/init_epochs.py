"""`lookout init` on a table whose event time is a Unix epoch number, not a timestamp
(`created_at BIGINT` in milliseconds: Kafka-sourced tables, ClickHouse `UInt64`, DynamoDB and
Mongo exports, MySQL `INT` unix time).

Such a column is the event time when no timestamp column is, its name says it is one
(`created_at`, `timestamp`, `ts`, `event_time`, `start_time`, ..., also with a unit tail:
`ts_ms`, `created_at_millis`), and every sampled value falls between 2000-01-01 and
2100-01-01 in exactly one of seconds, milliseconds and microseconds (their ranges are
disjoint: a magnitude says the unit). It is mapped as `ts` with `units: {ts: epoch_ms}`.

An integer named like an ingestion time (`inserted_at_ms`, `ingested_at`, `loaded_at`), of one
epoch unit by the same rule, is mapped as `ingested_at` with its unit (`units: {ingested_at:
epoch_ms}`) when no timestamp is the ingestion time; it is the event time only when the table
has no other (no timestamp for it, no epoch named like one, no timestamp ingestion time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lookout.model.record import (
    CANONICAL_FIELDS,
    TIME_UNITS,
    UNIT_WORDS,
    epoch_bound,
    from_epoch,
)
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import NAMES, normalized_name

__all__ = [
    "EpochTime",
    "epoch_ingestion_column",
    "epoch_time_column",
    "epoch_unit",
    "map_epoch_times",
    "sample_times",
]

_YEARS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
# name tails that say a time's unit (`ts_ms`, `created_at_millis`, `event_time_epoch`)
_UNIT_TAILS = (
    "_ms",
    "_millis",
    "_s",
    "_sec",
    "_us",
    "_micros",
    "_ns",
    "_nano",
    "_nanos",
    "_epoch",
    "_unix",
)
_TIME_NAMES = tuple(NAMES["ts"])  # best first
_INGESTION_NAMES = tuple(NAMES["ingested_at"])


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


def _name_rank(name: str, names: tuple[str, ...]) -> int | None:
    """Where the column's name stands among `names`, also with a unit tail (None: not one)."""
    stem = normalized_name(name)
    for _ in range(3):  # `start_time_unix_nano`: two tails
        if stem in names:
            return names.index(stem)
        tail = next((t for t in _UNIT_TAILS if stem.endswith(t) and len(stem) > len(t)), None)
        if tail is None:
            return None
        stem = stem.removesuffix(tail)
    return None


def _epoch_column(
    profiles: Sequence[ColumnProfile], names: tuple[str, ...], what: str
) -> EpochTime | None:
    """The best-named integer column named like one of `names` and of one epoch unit."""
    found = []
    for p in profiles:
        rank = _name_rank(p.name, names) if p.info.mappable else None
        unit = epoch_unit(p) if rank is not None else None
        if unit is not None and rank is not None:
            found.append((rank, p, unit))
    if not found:
        return None
    _, p, unit = min(found, key=lambda item: item[0])
    assert p.minimum is not None and p.maximum is not None
    first, last = (from_epoch(pd.Series([v]), unit)[0] for v in (p.minimum, p.maximum))
    reason = (
        f"named like the {what}; integers that are {UNIT_WORDS[unit]} "
        f"({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC)"
    )
    return EpochTime(p.name, unit, reason)


def epoch_time_column(profiles: Sequence[ColumnProfile]) -> EpochTime | None:
    """The integer column that is the event time, for a table with no timestamp for it: named
    like one and of one epoch unit by magnitude; the best-named when several are."""
    return _epoch_column(profiles, _TIME_NAMES, "event time")


def epoch_ingestion_column(profiles: Sequence[ColumnProfile]) -> EpochTime | None:
    """The integer column that is the ingestion time: named like one (`inserted_at_ms`,
    `loaded_at`) and of one epoch unit by magnitude; the best-named when several are."""
    return _epoch_column(profiles, _INGESTION_NAMES, "ingestion time")


def map_epoch_times(
    profiles: Sequence[ColumnProfile],
    mapping: Mapping[str, str],
    reasons: dict[str, tuple[str, str]],
    notes: list[str],
    event: EpochTime | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The mapping with the epoch times placed, and their units (`source.units`): `event`
    as `ts` when no timestamp is; an epoch ingestion time as `ingested_at` when no timestamp
    is, or as `ts` when the table has no other time at all (windows then cut on when rows
    were loaded). `reasons` and `notes` get why."""
    units: dict[str, str] = {}
    event = event if "ts" not in mapping else None
    if event is not None:  # no timestamp: an integer of epoch numbers named like a time
        mapping = {f: c for f, c in mapping.items() if c != event.column} | {"ts": event.column}
        reasons[event.column] = ("ts", event.reason)
        units["ts"] = event.unit
        notes.append(
            f"the event time {event.column} is an integer of {UNIT_WORDS[event.unit]}: "
            f"`units: {{ts: {event.unit}}}` compares it with integer bounds (its index still "
            "prunes) and reads it as UTC timestamps"
        )
    taken = set(mapping.values())
    free = [p for p in profiles if p.name not in taken]
    ingestion = epoch_ingestion_column(free) if "ingested_at" not in mapping else None
    if ingestion is not None:
        field = "ingested_at" if "ts" in mapping else "ts"
        mapping = {**mapping, field: ingestion.column}
        why = ingestion.reason
        if field == "ts":
            why = f"{why}; the only time: used as the event time"
        reasons[ingestion.column] = (field, why)
        units[field] = ingestion.unit
        role = "ingestion time" if field == "ingested_at" else "only time, used as the event time,"
        notes.append(
            f"the {role} {ingestion.column} is an integer of {UNIT_WORDS[ingestion.unit]}: "
            f"`units: {{{field}: {ingestion.unit}}}` reads it as UTC timestamps"
        )
    return {f: mapping[f] for f in CANONICAL_FIELDS if f in mapping}, units


def sample_times(values: pd.Series, unit: str | None) -> pd.Series:
    """Sampled event times as UTC timestamps, read as a window reads them: an epoch number in
    its unit, anything else as a timestamp (or text holding one); NaT where none."""
    if unit is not None:
        return from_epoch(values, unit)
    return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
