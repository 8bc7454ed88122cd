"""What a window's row count should be, from the same hours of earlier days and weeks (pure).

A fixed `min_rows` pages every quiet night on a small table and misses a midday gap on a big
one. The expectation here follows the traffic's own shape, and leans low on purpose (the check
is for gaps, not for a slow hour): the lesser of the median of the same hour of the week over
the last four weeks (a Saturday is compared with Saturdays) and the quietest of the same hour
over the last three days (hourly traffic is bursty: one busy hour last week must not make an
ordinary hour look like a gap). Before a week is stored, half of the quietest same hour of the
last seven days stands in (a consumer app's first weekend holds 40-60% of its weekdays), and a
tenth on a first weekend day after weekdays only, or a first weekday after a weekend only:
without a day of its kind before it, a business tool's first Saturday (~10% of a weekday: a
trial's document-extraction service paged P1 on 25 rows where its weekdays held 168) cannot be
told from a partial outage, so only a near-silent window is judged then. The verdict is an
interval on the observed count (gamma-Poisson: an hour's rate varies beyond Poisson chance,
`TRAFFIC_CV`): 0 rows where 3 are expected is an ordinary night, 0 where 50 are expected is an
incident; and a window short of its expectation is also judged with the windows before it
(`gap_look`), so three empty hours where 3 rows each are usual are an incident too.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from lookout.core.stats import count_interval, exact_interval

__all__ = [
    "GAP_LOOKS",
    "TRAFFIC_CV",
    "WEEKS",
    "Gap",
    "expected_rows",
    "gap_look",
    "history_starts",
    "traffic_ratio",
]

WEEKS = 4
DAYS = 7
_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)


def history_starts(window_start: datetime) -> list[datetime]:
    """The window starts whose row counts the expectation reads."""
    weekly = [window_start - k * _WEEK for k in range(1, WEEKS + 1)]
    daily = [window_start - k * _DAY for k in range(1, DAYS + 1)]
    return sorted(set(weekly) | set(daily))


# Before a week of history: the share of the quietest same hour a window may hold at least,
# and the share on a first weekend day (or weekday) that the days before hold none of: a
# business tool's first Saturday holds ~10% of its weekdays (a trial's document-extraction
# service paged P1 on 25 rows where its weekdays held 168), a consumer app's 40-60%
DAILY_DISCOUNT = 0.5
UNSEEN_KIND_DISCOUNT = 0.1


def expected_rows(window_start: datetime, rows: Mapping[datetime, int]) -> float | None:
    """Rows the window should at least hold, or None without enough stored history (3 days)."""
    weekly = [rows[s] for k in range(1, WEEKS + 1) if (s := window_start - k * _WEEK) in rows]
    daily = [rows[s] for k in range(1, DAYS + 1) if (s := window_start - k * _DAY) in rows]
    if weekly:
        # an empty day is an outage, not the traffic's shape: were it the quietest, a feed
        # that died would lower its own expectation to 0 after a day, no window would be
        # judged any more, and its alert would never reach the windows that page
        recent = [
            rows[s] for k in range(1, 4) if (s := window_start - k * _DAY) in rows and rows[s]
        ]
        candidates = [float(statistics.median(weekly))]
        if len(recent) >= 2:
            candidates.append(float(min(recent)))
        return min(candidates)
    if len(daily) >= 3:
        return _first_week_discount(window_start, rows) * float(min(daily))
    return None


def _first_week_discount(window_start: datetime, rows: Mapping[datetime, int]) -> float:
    """DAILY_DISCOUNT when the stored days before hold a day of the window's kind (weekend or
    weekday, UTC), else UNSEEN_KIND_DISCOUNT: a first Saturday after weekdays only cannot yet
    be told from a partial outage, so only a near-silent window is judged."""
    weekend = window_start.weekday() >= 5
    days = (window_start - k * _DAY for k in range(1, DAYS + 1))
    seen = any(start in rows and (start.weekday() >= 5) == weekend for start in days)
    return DAILY_DISCOUNT if seen else UNSEEN_KIND_DISCOUNT


# Consecutive windows, this one last, a gap is also judged over: three empty night hours
# where 3 rows each are usual are not significant one by one (an ordinary hour can hold 0 of
# 3), together they are (0 of 9: e^-9 by chance). Not two: 0 of 6 happens once in 400 pairs
# of night hours, a false page every few weeks on a small table.
GAP_LOOKS = (3, 6)


@dataclass(frozen=True)
class Gap:
    """Rows against what the same hours usually hold, over `windows` windows since `since`."""

    observed: int
    expected: float
    since: datetime
    windows: int = 1


def gap_look(
    window_start: datetime, size: timedelta, observed: int, rows: Mapping[datetime, int]
) -> Gap | None:
    """The window's rows against its expectation, or, when the window holds fewer than that,
    the run of consecutive windows ending with it (`GAP_LOOKS`, each stored with an
    expectation) whose exact upper bound of the ratio is lowest. None without an expectation.
    `rows`: the stored row counts of the earlier windows and of every history start."""
    expected = expected_rows(window_start, rows)
    if expected is None or expected < 1:
        return None
    best = Gap(observed, expected, window_start)
    if observed >= expected:
        return best
    pooled = best
    for windows in range(2, max(GAP_LOOKS) + 1):
        start = window_start - (windows - 1) * size
        usual = expected_rows(start, rows)
        if start not in rows or usual is None or usual < 1:
            break
        pooled = Gap(pooled.observed + rows[start], pooled.expected + usual, start, windows)
        if windows in GAP_LOOKS and _upper(pooled) < _upper(best):
            best = pooled
    return best


def _upper(gap: Gap) -> float:
    n = max(1, round(gap.expected))
    return exact_interval(min(gap.observed, n), n)[1]


# How much an hour's rate varies around what the same hours usually hold, beyond Poisson
# chance: a gamma-Poisson interval with this coefficient of variation. Request logs vary by
# 10-30% an hour (the soak generator draws 22% an hour and 12% a day). With a Poisson interval
# a Sunday 08:00 of 94 rows where the two same hours before held 255 and 245 paged P1 as a
# gap on traffic it was not tuned on (soak seed 31); at 15% it is a slow hour (1 in 11 at
# half the usual), while 70 of 245 (1 in 350), an hour without rows where 25 are usual, or
# three empty night hours where 3 each are usual (1 in 70) still open `no_data`.
TRAFFIC_CV = 0.15


def traffic_ratio(observed: int, expected: float) -> tuple[float, float, float]:
    """(observed / expected, and its 95% interval from the count's gamma-Poisson interval)."""
    low, high = count_interval(observed, TRAFFIC_CV)
    return observed / expected, low / expected, high / expected
