"""Window arithmetic: epoch-aligned, UTC, complete only after the grace period."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lookout.windows import Window, complete_windows, floor_time, windows_between

H = timedelta(hours=1)
T = datetime(2026, 11, 2, tzinfo=UTC)


def test_floor_is_epoch_aligned_and_converts_to_utc():
    assert floor_time(T + timedelta(minutes=59, seconds=59), H) == T
    assert floor_time(T + timedelta(minutes=17), timedelta(minutes=15)) == T + timedelta(minutes=15)
    cet = timezone(timedelta(hours=1))
    assert floor_time(datetime(2026, 11, 2, 1, 30, tzinfo=cet), H) == T  # 00:30 UTC
    assert floor_time(datetime(2026, 11, 2, 0, 30), H) == T  # naive = UTC


def test_complete_windows_wait_for_the_grace_period():
    grace = timedelta(minutes=15)
    assert complete_windows(T, T + H + timedelta(minutes=14), H, grace) == []
    assert complete_windows(T, T + H + grace, H, grace) == [Window(T, T + H)]
    assert len(windows_between(T, T + 24 * H, H)) == 24


def test_windows_must_be_aware_and_non_empty():
    with pytest.raises(ValueError):
        Window(datetime(2026, 11, 2), datetime(2026, 11, 2, 1))
    with pytest.raises(ValueError):
        Window(T, T)
    assert Window(T, T + H).label == "2026-11-02T00:00Z/1h"
    assert Window(T, T + timedelta(days=1)).label == "2026-11-02T00:00Z/1d"


def test_an_as_of_in_the_future_is_refused_beyond_the_allowed_skew():
    from lookout.windows import MAX_CLOCK_SKEW, check_as_of

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert check_as_of(now + MAX_CLOCK_SKEW, now) == now + MAX_CLOCK_SKEW
    assert check_as_of(datetime(2026, 12, 5, 11), now) == datetime(2026, 12, 5, 11, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"later than now .* clock skew of 5 minutes"):
        check_as_of(now + MAX_CLOCK_SKEW + timedelta(seconds=1), now)
