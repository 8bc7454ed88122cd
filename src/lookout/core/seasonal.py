"""What a window's row count should be, from the same hours of earlier days and weeks (pure).

A fixed `min_rows` pages every quiet night on a small table and misses a midday gap on a big
one. The expectation here follows the traffic's own shape, and leans low on purpose (the check
is for gaps, not for a slow hour): the lesser of the median of the same hour of the week over
the last four weeks (a Saturday is compared with Saturdays) and the quietest of the same hour
over the last three days (hourly traffic is bursty: one busy hour last week must not make an
ordinary hour look like a gap). Before a week is stored, half of the quietest same hour of the
last seven days stands in: a first weekend holds 40-60% of weekday traffic in the logs we
looked at, and must not page anyone. The verdict is a Poisson interval on the observed count:
0 rows where 3 are expected is an ordinary night, 0 where 50 are expected is an incident.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import datetime, timedelta

from lookout.core.stats import poisson_interval

__all__ = ["WEEKS", "expected_rows", "history_starts", "traffic_ratio"]

WEEKS = 4
DAYS = 7
_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)


def history_starts(window_start: datetime) -> list[datetime]:
    """The window starts whose row counts the expectation reads."""
    weekly = [window_start - k * _WEEK for k in range(1, WEEKS + 1)]
    daily = [window_start - k * _DAY for k in range(1, DAYS + 1)]
    return sorted(set(weekly) | set(daily))


# Before a week of history: the share of the quietest same hour a window may hold at least
DAILY_DISCOUNT = 0.5


def expected_rows(window_start: datetime, rows: Mapping[datetime, int]) -> float | None:
    """Rows the window should at least hold, or None without enough stored history (3 days)."""
    weekly = [rows[s] for k in range(1, WEEKS + 1) if (s := window_start - k * _WEEK) in rows]
    daily = [rows[s] for k in range(1, DAYS + 1) if (s := window_start - k * _DAY) in rows]
    if weekly:
        recent = [rows[s] for k in range(1, 4) if (s := window_start - k * _DAY) in rows]
        candidates = [float(statistics.median(weekly))]
        if len(recent) >= 2:
            candidates.append(float(min(recent)))
        return min(candidates)
    if len(daily) >= 3:
        return DAILY_DISCOUNT * float(min(daily))
    return None


def traffic_ratio(observed: int, expected: float) -> tuple[float, float, float]:
    """(observed / expected, and its 95% interval from the Poisson interval of the count)."""
    low, high = poisson_interval(observed)
    return observed / expected, low / expected, high / expected
