"""Which rows a drift period is compared with: the previous release (or, for a release no
other precedes, itself a week earlier), a pinned baseline, the same period a week earlier."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lookout.config.models import Monitor
from lookout.core.releases import previous_release
from lookout.windows import Window

__all__ = ["Reference", "resolve_reference"]

PROFILE_VERSION = "2"  # 2: summaries (sketches, category counts)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Reference:
    """Rows of `period` (of one release when `release_values` is set)."""

    description: str
    period: Window
    release_label: str | None = None
    release_values: tuple[Any, ...] | None = None
    kind: str = "previous_release"
    same_hours: bool = False  # the hours a young release's period covers, a day earlier

    @property
    def slides(self) -> bool:
        """A reference that moves with every window (a week ago, a young release's same
        hours): caching it never hits."""
        return self.kind == "week_ago" or self.same_hours

    def key(self, monitor: Monitor, signature: Sequence[str]) -> str:
        """Cache key of its profile: changes with the period, release, columns or cohorts."""
        data = {
            "v": PROFILE_VERSION,
            "monitor": monitor.name,
            "period": [self.period.start.isoformat(), self.period.end.isoformat()],
            "release": None if self.release_values is None else list(map(str, self.release_values)),
            "columns": list(signature),
        }
        if monitor.source.reading:  # a filter, a unit, computed durations: other rows
            data["reading"] = monitor.source.reading
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def resolve_reference(
    monitor: Monitor,
    window: Window,
    release: str,
    first_seen: Mapping[str, datetime],
    releases_in: Any,
) -> Reference | None:
    """The reference for `release` over `window` (a drift period), or None when there is none
    yet. A week ago is the same period seven days earlier. The previous release: its last
    `lookback` before `release` appeared, or, while `release` is younger than the period, the
    same hours as its side holds, whole days earlier (the day before it appeared). A release
    no other precedes: itself, a week earlier.

    `releases_in(period)` lists (label, raw values, rows) of the releases in a period; it is only
    called for the previous-release mode.
    """
    config = monitor.drift.reference
    if config.kind == "baseline":
        assert config.start is not None and config.end is not None
        period = Window(config.start, config.end)
        return Reference(
            f"baseline {period.start:%Y-%m-%d %H:%M}..{period.end:%Y-%m-%d %H:%M}",
            period,
            kind="baseline",
        )
    if config.kind == "week_ago":
        period = Window(window.start - timedelta(days=7), window.end - timedelta(days=7))
        return Reference(f"same period a week earlier ({period.label})", period, kind="week_ago")
    previous = previous_release(release, first_seen)
    if previous is None:
        return _own_week_ago(release, window, first_seen, releases_in)
    launch = first_seen[release]
    if launch > window.start:
        # the release is younger than the period: its side holds only the hours since it
        # appeared, so compare those hours of the day before (a nightly batch, a morning
        # peak with other prompts, in the previous release's whole last day and not yet in
        # the new release's hours drifted at every release on a user's traffic)
        days = math.ceil((window.end - launch) / DAY)
        span = Window(launch - days * DAY, window.end - days * DAY)
        found = _of_release(previous, span, releases_in)
        if found is not None:
            label = f"previous release {previous}, same hours ({span.label})"
            return Reference(label, span, previous, found, same_hours=True)
    period = Window(launch - config.lookback, launch)
    found = _of_release(previous, period, releases_in)
    if found is None:
        return None
    return Reference(f"previous release {previous} ({period.label})", period, previous, found)


def _own_week_ago(
    release: str, window: Window, first_seen: Mapping[str, datetime], releases_in: Any
) -> Reference | None:
    """A release no earlier release precedes (a table's only model, the champion before any
    canary) compared with itself over the same period a week earlier, once it served all of
    that period: without it, a team running one model for months never had drift checked
    (a feature pipeline that zeroed an input, a score that shifted, passed unseen)."""
    period = Window(window.start - WEEK, window.end - WEEK)
    if first_seen.get(release, window.start) > period.start:
        return None  # not a week old yet: a week ago it served part of the period, or none
    found = _of_release(release, period, releases_in)
    if found is None:
        return None
    label = f"same release a week earlier ({period.label})"
    return Reference(label, period, release, found, kind="week_ago")


def _of_release(release: str, period: Window, releases_in: Any) -> tuple[Any, ...] | None:
    """The raw values of `release` when it has rows in `period`."""
    for label, values, rows in releases_in(period):
        if label == release and rows:
            return tuple(values)
    return None
