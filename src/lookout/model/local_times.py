"""Timestamps a table writes without a time zone, in the zone it writes them in
(`source.timezone`): window bounds out to it, values read back to UTC.

A MySQL DATETIME or a PostgreSQL `timestamp` filled with a server's local time
(`America/New_York`) read as UTC shifts every window by the zone's offset: west of UTC the hourly
run reads hours that have not happened yet and finds them empty, east of it alerts wait hours.

The two directions agree about every row, so a row is read by exactly one window and reads back
inside it. Bounds are UTC instants written as local wall time, which never goes backwards: the
autumn hour that repeats in local time is the bound of one UTC window only (the other UTC hour
maps to an empty local range), so a row in it is read back as the second occurrence (standard
time), the UTC hour whose window read it. A spring-gap wall time no clock shows (a row written
by hand) lies in the window that ends at the gap, so it is read back as the instant just before
the gap.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import numpy as np
import pandas as pd

__all__ = ["local_naive", "times_as_utc"]


def local_naive(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` (aware, or naive UTC) as the wall time a column without a zone in `zone` holds."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(zone).replace(tzinfo=None)


def times_as_utc(values: pd.Series, zone: tzinfo) -> pd.Series:
    """Timestamps as read from the warehouse, as aware UTC: naive ones are wall times in `zone`,
    aware ones are converted; what is no time reads as NaT (a missing time)."""
    if zone is UTC:
        return pd.to_datetime(values, utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    try:
        moments = pd.to_datetime(values, errors="coerce")
    except (TypeError, ValueError):  # naive and aware values mixed in one column (SQLite text)
        return pd.to_datetime(values, utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    if not pd.api.types.is_datetime64_any_dtype(moments):
        moments = pd.to_datetime(moments, utc=True, errors="coerce")
    elif moments.dt.tz is None:
        moments = moments.dt.tz_localize(
            zone,
            ambiguous=np.zeros(len(moments), dtype=bool),  # the second occurrence
            nonexistent="shift_backward",
        )
    return moments.dt.tz_convert(UTC).astype("datetime64[ns, UTC]")
