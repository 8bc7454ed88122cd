"""`lookout init` says when a table's event times look written in local time: ahead of now (a
zone east of UTC), or hours behind on a busy table (west of UTC, or nothing logged since);
never for a clock skew, a quiet table or data older than any zone's offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout.services.init_clock import local_time_note

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "rows_per_hour", "said"),
    [
        (timedelta(hours=5, minutes=27), 3.0, "5.5 h ahead of now (09:00 UTC): the table seems"),
        (timedelta(hours=14), 100.0, "14 h ahead"),
        (timedelta(minutes=14), 100.0, None),  # a clock skew
        (timedelta(hours=15), 100.0, None),  # no zone is that far east: another problem
        (-timedelta(hours=5, minutes=3), 40.0, "5 h before now (09:00 UTC) on a table of ~40"),
        (-timedelta(hours=5), 2.0, None),  # a quiet table: an hour without rows is normal
        (-timedelta(minutes=40), 400.0, None),  # ingestion lag
        (-timedelta(days=3), 400.0, None),  # old data, not a zone
    ],
)
def test_the_newest_event_time_against_the_clock(offset, rows_per_hour, said):
    note = local_time_note("created_at", NOW + offset, NOW, rows_per_hour)
    if said is None:
        assert note is None
    else:
        assert note is not None and said in note and "source.timezone" in note
    assert local_time_note("created_at", None, NOW, rows_per_hour) is None
    assert local_time_note("created_at", NOW + offset, None, rows_per_hour) is None
