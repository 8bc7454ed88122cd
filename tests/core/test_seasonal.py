"""The seasonal expectation of a window's rows, and the traffic ratio's interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout.core.seasonal import (
    DAILY_DISCOUNT,
    UNSEEN_KIND_DISCOUNT,
    Gap,
    expected_rows,
    gap_look,
    history_starts,
    traffic_ratio,
)

T = datetime(2026, 11, 14, 15, tzinfo=UTC)  # a Saturday afternoon
DAY, WEEK = timedelta(days=1), timedelta(days=7)


def test_a_saturday_is_compared_with_saturdays_once_a_week_is_stored():
    weekdays = {T - k * DAY: 600 for k in range(1, 7)}
    saturdays = {T - WEEK: 280, T - 2 * WEEK: 300, T - 3 * WEEK: 320}
    assert expected_rows(T, {**weekdays, **saturdays}) == 300  # median of the Saturdays
    assert expected_rows(T, {**weekdays, T - WEEK: 280}) == 280


def test_one_busy_hour_last_week_does_not_make_an_ordinary_hour_a_gap():
    # last Tuesday 9:00 was busy (573); the last days' 9:00 held 444 and 460: expect 444
    rows = {T - WEEK: 573, T - DAY: 444, T - 2 * DAY: 460, T - 3 * DAY: 510}
    assert expected_rows(T, rows) == 444
    _, _, high = traffic_ratio(224, expected_rows(T, rows))
    assert high > 0.5  # 224 rows: a slow hour, not a gap


def test_before_a_week_half_the_quietest_same_hour_stands_in_a_tenth_on_an_unseen_kind_of_day():
    # T is a Saturday: after Wednesday to Friday only, its kind of day was never seen
    rows = {T - k * DAY: n for k, n in ((1, 600), (2, 640), (3, 580))}
    assert expected_rows(T, rows) == UNSEEN_KIND_DISCOUNT * 580 == 58
    # after Friday, Thursday and the Sunday before: a weekend day is known, half stands in
    weekend_seen = {T - DAY: 600, T - 2 * DAY: 640, T - 6 * DAY: 120}
    assert expected_rows(T, weekend_seen) == DAILY_DISCOUNT * 120 == 60
    # the Monday after: weekdays were seen, half of the quietest (the weekend's)
    monday = T + 2 * DAY
    after = {monday - k * DAY: n for k, n in ((1, 100), (2, 110), (3, 600), (4, 640))}
    assert expected_rows(monday, after) == DAILY_DISCOUNT * 100
    assert expected_rows(T, {T - DAY: 600, T - 2 * DAY: 600}) is None  # 2 days: no verdict


def test_history_starts_cover_four_weeks_and_seven_days():
    starts = history_starts(T)
    assert T - 4 * WEEK in starts and T - DAY in starts and T - 7 * DAY in starts
    assert len(starts) == 10  # the 7th day back is also 1 week back


@pytest.mark.parametrize(
    ("observed", "expected", "below_half"),
    [
        (0, 3, False),
        (0, 50, True),
        (20, 50, False),
        (5, 50, True),
        (300, 600, False),
        # an hour's rate varies beyond Poisson: 94 where 245 are usual is a slow Sunday
        # morning (it paged under a Poisson interval), 70 is not
        (94, 245, False),
        (70, 245, True),
        (0, 9, True),  # three empty night hours where 3 each are usual
    ],
)
def test_the_interval_tells_a_quiet_hour_from_a_gap(observed, expected, below_half):
    ratio, low, high = traffic_ratio(observed, expected)
    assert ratio == pytest.approx(observed / expected) and low <= ratio <= high
    assert (high < 0.5) is below_half


def test_an_empty_day_is_an_outage_not_the_quietest_same_hour():
    """A feed that died yesterday must not lower its own expectation to 0: no window would be
    judged any more (a user's dead feed was never re-evaluated, so never announced)."""
    rows = {T - WEEK: 40, T - DAY: 0, T - 2 * DAY: 35, T - 3 * DAY: 38}
    assert expected_rows(T, rows) == 35
    # dead for three days: last week's same hour stands alone
    assert expected_rows(T, {T - WEEK: 40, T - DAY: 0, T - 2 * DAY: 0, T - 3 * DAY: 0}) == 40


def _six_a_day(windows: int, empty: set[int]) -> dict:
    """Four days of thirty rows an hour (an expectation of 3 before a week: a tenth of the
    quietest) before `windows` consecutive windows ending at T; the windows in `empty` (0 = T
    itself, 1 the one before...) stored with no rows, the others with six."""
    H = timedelta(hours=1)
    rows = {}
    for back in range(windows):
        start = T - back * H
        rows.update({start - k * DAY: 30 for k in range(1, 5)})
        if back:
            rows[start] = 0 if back in empty else 6
    return rows


def test_consecutive_short_windows_are_judged_together():
    H = timedelta(hours=1)
    # expectation 3 an hour (a tenth of the quietest of four days of 30): 0 of 3 is ordinary
    alone = gap_look(T, H, 0, _six_a_day(1, set()))
    assert alone == Gap(0, 3.0, T, 1)
    _, _, high = traffic_ratio(0, 3.0)
    assert high > 0.5
    # three empty hours: judged as 0 of 9
    three = gap_look(T, H, 0, _six_a_day(6, {1, 2}))
    assert three == Gap(0, 9.0, T - 2 * H, 3)
    # six: 0 of 18, a still lower bound
    assert gap_look(T, H, 0, _six_a_day(6, {1, 2, 3, 4, 5})) == Gap(0, 18.0, T - 5 * H, 6)
    # an empty hour after ordinary ones is judged alone (the ordinary ones only dilute it)
    assert gap_look(T, H, 0, _six_a_day(6, set())).windows == 1
    # a window at its expectation is never pooled
    assert gap_look(T, H, 4, _six_a_day(6, {1, 2})) == Gap(4, 3.0, T, 1)
