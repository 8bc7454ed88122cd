"""What `lookout init` learned of a table's traffic: the rate the window and pooling are sized
on, and how it was read (said in the proposal and its comments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Traffic"]


@dataclass(frozen=True)
class Traffic:
    """What the table's traffic looks like and how it was read (for the proposal and docs)."""

    rows_per_hour: float | None  # over `period` up to the newest row (None: unknown)
    newest: datetime | None  # the newest event time seen
    rows_estimate: int | None  # rows in the whole table (an estimate on large tables)
    timestamps_read: int  # event times read to estimate the traffic
    method: str  # how the rows were read, in words
    period: timedelta | None = None  # what the rate is over: the newest day, or longer
    rows_exact: bool = False  # rows_estimate is a count: every row's event time was read
    # event times read that lie past now by more than any zone's offset, left out of the rest
    future_rows: int = 0
    future_newest: datetime | None = None

    @property
    def over(self) -> str:
        """`the newest day`, `the newest 14 days`: what the rate is an average of."""
        if self.period is None:
            return "the newest rows"
        days = self.period.total_seconds() / 86400
        if days >= 1 and days.is_integer():
            return "the newest day" if days == 1 else f"the newest {days:.0f} days"
        return f"the newest {self.period.total_seconds() / 3600:.1f} hours"
