"""Whether a table's event times look written in local time, for `lookout init` (pure).

A timestamp without a zone is read as UTC; a table filled with a server's local time then has
every window shifted by the zone's offset (`source.timezone` fixes it, but init cannot know the
zone: many share an offset). The newest event time against the clock says which way: ahead of
now can only be a zone east of UTC (or a wrong clock); hours behind on a busy table is a zone
west of UTC, or a table nothing was logged to since, which the note says too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lookout.services.init_columns import ColumnProfile

__all__ = ["clock_notes", "future_note", "local_time_note"]

AHEAD = timedelta(minutes=15)  # past any clock skew between the database and this machine
BEHIND = timedelta(minutes=50)  # an offset of an hour or more, with some ingestion lag
BUSY = 6.0  # rows an hour from which an hour without any row is unusual
# the widest offsets a zone has (Kiribati +14, Baker Island -12): farther is no zone's doing
EAST_MOST = timedelta(hours=14, minutes=15)
WEST_MOST = timedelta(hours=12, minutes=15)


def local_time_note(
    column: str,
    newest: datetime | None,
    now: datetime | None,
    rows_per_hour: float | None,
) -> str | None:
    """A note for the proposal when `column`'s newest value (a timestamp without a zone, read
    as UTC) is far from `now` in a way a local clock explains; None otherwise."""
    if newest is None or now is None:
        return None
    gap = newest - now
    hours = round(abs(gap) / timedelta(minutes=30)) / 2
    if AHEAD < gap <= EAST_MOST:
        return (
            f"{column}'s newest value ({newest:%Y-%m-%d %H:%M}) is {hours:g} h ahead of now "
            f"({now:%H:%M} UTC): the table seems to write local time east of UTC. Set "
            "source.timezone to its zone (an IANA name such as Europe/Berlin or Asia/Kolkata): "
            "a timestamp without a zone is read as UTC"
        )
    busy = rows_per_hour is not None and rows_per_hour >= BUSY
    if BEHIND < -gap <= WEST_MOST and busy:
        return (
            f"{column}'s newest value ({newest:%Y-%m-%d %H:%M}) is {hours:g} h before now "
            f"({now:%H:%M} UTC) on a table of ~{rows_per_hour:,.0f} rows an hour: nothing was "
            "logged since, or the table writes local time west of UTC. Then set "
            "source.timezone to its zone (such as America/New_York): a timestamp without a "
            "zone is read as UTC"
        )
    return None


def clock_notes(
    ts: ColumnProfile | None, epoch: bool, traffic: Any, now: datetime | None
) -> list[str]:
    """The proposal's note on the event time `ts`, when it is a timestamp without a zone (not
    an epoch number, not one with a zone) that looks written in local time; `traffic` is
    init's `Traffic` (its newest event time and rows an hour)."""
    if ts is None or epoch or ts.info.timezone:
        return []
    note = local_time_note(ts.info.name, traffic.newest, now, traffic.rows_per_hour)
    return [note] if note else []


def future_note(column: str, traffic: Any) -> list[str]:
    """The proposal's note on event times too far ahead of now for any zone (a client's
    clock, a default of 9999-12-31), which init left out: a window reads them only when its
    time comes, and until then they are in no window's counts."""
    if not traffic.future_rows:
        return []
    return [
        f"{traffic.future_rows:,} of the {column} values read are in the future (up to "
        f"{traffic.future_newest:%Y-%m-%d %H:%M}, past any time zone's offset): left out of the "
        "traffic and the sample this proposal is built on. Lookout reads a row in the window "
        "of its event time, so these wait until then: find what writes them (a client's clock, "
        "a default date)"
    ]
