"""Time windows: pure arithmetic, no clocks.

A run is always one monitor and one window `[start, end)`. Windows are aligned to the epoch in
UTC, so every scheduler, backfill and re-run agrees on the same boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_CLOCK_SKEW",
    "Window",
    "as_utc",
    "check_as_of",
    "complete_windows",
    "floor_time",
    "windows_between",
]

# How far an `as_of` may run ahead of this machine's clock (clocks of the scheduler and the
# worker disagree a little); later than that, windows that have not happened would be processed.
MAX_CLOCK_SKEW = timedelta(minutes=5)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the warehouse convention); aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start} >= {self.end}")

    @property
    def label(self) -> str:
        """Compact, sortable, human-readable: `2026-11-02T03:00Z/1h`."""
        size = self.end - self.start
        seconds = int(size.total_seconds())
        if seconds % 86400 == 0:
            unit = f"{seconds // 86400}d"
        elif seconds % 3600 == 0:
            unit = f"{seconds // 3600}h"
        else:
            unit = f"{seconds // 60}m"
        return f"{self.start:%Y-%m-%dT%H:%M}Z/{unit}"

    def contains(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end


def floor_time(moment: datetime, size: timedelta) -> datetime:
    """The start of the window of length `size` that contains `moment`."""
    moment = as_utc(moment)
    step = int(size.total_seconds() * 1_000_000)
    offset = (moment - _EPOCH) // timedelta(microseconds=1)
    return _EPOCH + timedelta(microseconds=offset - offset % step)


def windows_between(start: datetime, end: datetime, size: timedelta) -> list[Window]:
    """Aligned windows covering `[floor(start), end)`; only windows that end by `end`."""
    cursor = floor_time(start, size)
    end = as_utc(end)
    out = []
    while cursor + size <= end:
        out.append(Window(cursor, cursor + size))
        cursor += size
    return out


def complete_windows(
    frontier: datetime, as_of: datetime, size: timedelta, grace: timedelta
) -> list[Window]:
    """Windows from `frontier` that are complete at `as_of`: they ended at least `grace` ago."""
    return windows_between(frontier, as_of - grace, size)


def check_as_of(as_of: datetime, now: datetime) -> datetime:
    """`as_of` as UTC, or ValueError when it lies in the future.

    A window processed before it happened would be stored (nearly) empty and the watermark
    moved past it: rows that arrive later for it would never be counted.
    """
    as_of = as_utc(as_of)
    if as_of > as_utc(now) + MAX_CLOCK_SKEW:
        minutes = int(MAX_CLOCK_SKEW.total_seconds() // 60)
        raise ValueError(
            f"as_of {as_of:%Y-%m-%d %H:%M} UTC is later than now ({as_utc(now):%Y-%m-%d %H:%M} "
            f"UTC) plus the allowed clock skew of {minutes} minutes: windows that have not "
            "happened yet would be processed and the watermark moved past them, so rows "
            "arriving later would never be counted"
        )
    return as_of
