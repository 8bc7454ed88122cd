"""Times in the results store: naive UTC in the database (SQLite has no time zones), aware UTC
everywhere else."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["db_time", "utc"]


def db_time(moment: datetime | None) -> datetime | None:
    """Aware (or naive UTC) -> naive UTC, as stored."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def utc(moment: datetime | None) -> datetime | None:
    """As stored (naive UTC) -> aware UTC."""
    return None if moment is None else moment.replace(tzinfo=UTC)
