"""Timestamps a table writes without a time zone, in the zone it writes them in
(`source.timezone`): window bounds out to it, values read back to UTC.

A MySQL DATETIME or a PostgreSQL `timestamp` filled with a server's local time
(`America/New_York`) read as UTC shifts every window by the zone's offset: west of UTC the hourly
run reads hours that have not happened yet and finds them empty, east of it alerts wait hours.

The two directions agree about every row, for any window size and any zone (changes on the
half hour included), so a row is read by exactly one window and reads back inside it. A bound
is the wall time of its UTC instant, except in the first pass through a wall range that
repeats in autumn, where it is the start of that range: bounds then never go backwards, the
windows of the first pass read nothing (`reads_no_wall_time`), and a row in the repeated range
is read back as its second occurrence (standard time), the instant of the window that read it.
A spring-gap wall time no clock shows (a row written by hand) lies in the window whose bounds
straddle the gap, so it is read back as the instant just before the gap.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
import pandas as pd

__all__ = ["local_naive", "reads_no_wall_time", "times_as_utc"]

_TICK = timedelta(microseconds=1)
# a time of day followed by an offset: `...10:00Z`, `...10:00:00+02:00`, `...10:00:00.5-0500`
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def local_naive(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` (aware, or naive UTC) as the bound a column of wall times in `zone` is compared
    with: its wall time, or in the first pass through a repeated range, the start of that range
    (so that bounds never go backwards)."""
    aware = (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)
    local = aware.astimezone(zone)
    wall = local.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if local.fold == 1 or first is None or second is None or first <= second:
        return wall
    # the first pass: the change is in (aware, aware + the hour it repeats]; find its instant
    low, high = aware, aware + (first - second)
    while high - low > _TICK:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == first:
            low = middle
        else:
            high = middle
    return high.astimezone(zone).replace(tzinfo=None)


def reads_no_wall_time(start: datetime, end: datetime, zone: tzinfo) -> bool:
    """A window (UTC bounds) of a table in `zone` that no row can fall in: it lies in the first
    pass through an autumn's repeated range, whose rows the window of their second pass reads.
    Never in UTC (the default zone), whose bounds always increase."""
    return local_naive(start, zone) >= local_naive(end, zone)


def times_as_utc(values: pd.Series, zone: tzinfo) -> pd.Series:
    """Timestamps as read from the warehouse, as aware UTC: naive ones are wall times in `zone`,
    aware ones are converted; what is no time reads as NaT (a missing time)."""
    if zone is not UTC and values.dtype == object:  # text: each says its offset, or is local
        said = values.map(lambda v: isinstance(v, str) and _OFFSET.search(v.strip()) is not None)
        if said.any() and not said[values.notna()].all():  # SQLite text of both kinds
            out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
            out[said] = times_as_utc(values[said], UTC)
            out[~said] = times_as_utc(values[~said], zone)
            return out
    if zone is UTC or _aware(values):  # aware values may carry several offsets (a session zone)
        return pd.to_datetime(values, utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    moments = pd.to_datetime(values, errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(moments):
        moments = pd.to_datetime(moments, utc=True, errors="coerce")
    elif moments.dt.tz is None:
        moments = moments.dt.tz_localize(
            zone,
            ambiguous=np.zeros(len(moments), dtype=bool),  # the second occurrence
            nonexistent="shift_backward",
        )
    return moments.dt.tz_convert(UTC).astype("datetime64[ns, UTC]")


def _aware(values: pd.Series) -> bool:
    """Do the values carry their offset (an aware dtype, aware datetimes, ISO text with one)?"""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return True
    present = values.dropna()
    if present.empty:
        return False
    first = present.iloc[0]
    if isinstance(first, str):
        return _OFFSET.search(first.strip()) is not None
    return getattr(first, "tzinfo", None) is not None
