"""What a backfill runs, shared by the backfill flow (UI or deployment) and `lookout backfill`.

Planning is one function for both, so the command line and the UI agree on which windows of a
range run, which are skipped because their results are stored (unless `force`), and how the
outcome is told. The command line follows a run through a `BackfillListener` (its progress
bar); the flow announces to whoever listens in this context, and to nobody otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from lookout.config.models import Monitor
from lookout.core.durations import format_duration
from lookout.windows import Window, as_utc, floor_time, windows_between

log = logging.getLogger("lookout.flows")

__all__ = [
    "BackfillListener",
    "BackfillOutcome",
    "BackfillPlan",
    "Waiting",
    "announce",
    "backfill_windows",
    "check_range",
    "listening",
    "plan_backfill",
    "waiting_text",
    "waiting_windows",
]


class _Store(Protocol):
    def processed_windows(self, monitor: str, since: datetime) -> dict[Window, datetime | None]:
        """Windows with stored results from `since` on."""
        ...


def backfill_windows(
    monitor: Monitor,
    start: datetime,
    end: datetime,
    as_of: datetime,
    processed: set[Window] | dict[Window, datetime | None],
    force: bool,
) -> list[Window]:
    """Aligned windows in [start, end) that are complete at `as_of`; without `force`, only
    those without results.

    Bounded: nothing before the monitor's `window.start` (it did not exist yet), and a range
    of more than `window.max_backfill_windows` windows is refused (ValueError) instead of
    queueing years of work by a typo.
    """
    config = monitor.window
    first = as_utc(start)
    if config.start is not None and first < config.start:
        if as_utc(end) <= config.start:
            raise ValueError(
                f"monitor {monitor.name} starts at {config.start:%Y-%m-%d %H:%M} UTC "
                f"(window.start); the range {first:%Y-%m-%d %H:%M}–{as_utc(end):%Y-%m-%d %H:%M} "
                "UTC lies before it: nothing to backfill"
            )
        first = config.start
    last = min(as_utc(end), as_of - config.grace)
    if last <= first:
        return []
    count = (last - floor_time(first, config.size)) // config.size
    if count > config.max_backfill_windows:
        raise ValueError(
            f"monitor {monitor.name}: {first:%Y-%m-%d %H:%M}–{last:%Y-%m-%d %H:%M} UTC is "
            f"{count:,} windows, more than window.max_backfill_windows "
            f"({config.max_backfill_windows:,}); backfill a shorter range or raise the limit"
        )
    windows = windows_between(first, last, config.size)
    return windows if force else [w for w in windows if w not in processed]


def check_range(
    monitors: Sequence[Monitor], start: datetime, end: datetime, as_of: datetime
) -> None:
    """ValueError (one line) for a range no monitor may backfill: end not after start, before
    a monitor's start, or more windows than its maximum."""
    if as_utc(end) <= as_utc(start):
        raise ValueError(
            f"end ({as_utc(end):%Y-%m-%d %H:%M} UTC) must be after start "
            f"({as_utc(start):%Y-%m-%d %H:%M} UTC)"
        )
    for monitor in monitors:
        backfill_windows(monitor, start, end, as_of, set(), force=True)


@dataclass(frozen=True)
class Waiting:
    """The windows of a range that are not complete at `as_of`: a window runs `grace` after
    its end (rows arrive late), so these were not run; each is runnable from then."""

    monitor: str
    first: Window
    last: Window
    count: int
    grace: timedelta
    as_of: datetime

    def describe(self) -> str:
        """`bot 2026-12-06 15:00–16:00 UTC is still in its grace period (window.grace 15m,
        for late-arriving rows): runnable from 2026-12-06 16:15 UTC`."""
        why = f"window.grace {format_duration(self.grace)}, for late-arriving rows"
        ready = f"runnable from {self.first.end + self.grace:%Y-%m-%d %H:%M} UTC"
        if self.count == 1:
            state = (
                "is still in its grace period"
                if self.first.end <= self.as_of
                else ("has not ended yet")
            )
            return f"{self.monitor} {_span(self.first)} {state} ({why}): {ready}"
        span = _span(Window(self.first.start, self.last.end))
        return (
            f"{self.monitor} {self.count} windows {span} are not complete yet ({why}): {ready}, "
            f"the last from {self.last.end + self.grace:%Y-%m-%d %H:%M} UTC"
        )


def _span(window: Window) -> str:
    end = "%H:%M" if window.start.date() == window.end.date() else "%Y-%m-%d %H:%M"
    return f"{window.start:%Y-%m-%d %H:%M}–{window.end.strftime(end)} UTC"


def waiting_windows(
    monitor: Monitor, start: datetime, end: datetime, as_of: datetime
) -> Waiting | None:
    """The whole windows of [start, end) that are not complete at `as_of` (counted, not
    listed: a range may reach far ahead), or None."""
    config = monitor.window
    first = as_utc(start) if config.start is None else max(as_utc(start), config.start)
    size = config.size
    opening = max(floor_time(first, size), floor_time(as_utc(as_of) - config.grace, size))
    closing = floor_time(as_utc(end), size)  # the end of the range's last whole window
    count = (closing - opening) // size
    if count <= 0:
        return None
    first_window, last_window = Window(opening, opening + size), Window(closing - size, closing)
    return Waiting(monitor.name, first_window, last_window, count, config.grace, as_utc(as_of))


@dataclass(frozen=True)
class BackfillPlan:
    """The windows to run, per monitor how many of the range were skipped as stored, and the
    windows of the range not complete yet (not run)."""

    jobs: list[tuple[Monitor, Window]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def plan_backfill(
    store: _Store,
    monitors: Sequence[Monitor],
    start: datetime,
    end: datetime,
    as_of: datetime,
    force: bool,
) -> BackfillPlan:
    """Every monitor's windows of [start, end) to run (those without results, or all with
    `force`), in time order per monitor."""
    plan = BackfillPlan()
    for monitor in monitors:
        since = as_utc(start) - monitor.window.size
        processed = set(store.processed_windows(monitor.name, since))
        every = backfill_windows(monitor, start, end, as_of, processed, force=True)
        chosen = every if force else [w for w in every if w not in processed]
        plan.jobs.extend((monitor, window) for window in chosen)
        plan.skipped[monitor.name] = len(every) - len(chosen)
        waiting = waiting_windows(monitor, start, end, as_of)
        if waiting is not None:
            plan.waiting.append(waiting)
    return plan


@dataclass(frozen=True)
class BackfillOutcome:
    """What a backfill did, told the same way in the run log, the artifact and the terminal."""

    run: int
    skipped: int
    failed: Sequence[str] = ()
    rows: int = 0
    waiting: Sequence[Waiting] = ()
    index: str | None = None  # the report index the run refreshed (reports/index.html)
    sent: int | None = None  # messages delivered at its end (with notify), None: not asked

    def describe(self, force_hint: str = "force: true recomputes them") -> str:
        """`3 window(s) run, 24 skipped because ... (force: true recomputes them), 0 failed,
        1,200 rows`, then the windows not complete yet and when they are runnable;
        `force_hint` says how to force where it is read (form, command line)."""
        skipped = f"{self.skipped} skipped"
        if self.skipped:
            skipped += f" because their results are already stored ({force_hint})"
        done = f"{self.run} window(s) run, {skipped}, {len(self.failed)} failed, {self.rows:,} rows"
        if self.sent is not None:
            done += f", {self.sent} message(s) sent"
        return done + waiting_text(self.waiting)


def waiting_text(waiting: Sequence[Waiting]) -> str:
    """`; not run yet: <each monitor's windows>`, or nothing."""
    return f"; not run yet: {'; '.join(w.describe() for w in waiting)}" if waiting else ""


class BackfillListener(Protocol):
    """Follows a backfill run in this process (the command line's progress bar)."""

    def planned(self, plan: BackfillPlan) -> None: ...

    def progressed(self, finished: int, total: int) -> None: ...

    def finished(self, outcome: BackfillOutcome) -> None: ...


_LISTENER: ContextVar[BackfillListener | None] = ContextVar("backfill_listener", default=None)


@contextmanager
def listening(listener: BackfillListener) -> Iterator[None]:
    """Backfills run in this context (the flow called in-process) report to `listener`."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def announce() -> BackfillListener:
    """The listener of this context (a no-op when nobody listens). A listener that raises is
    logged and ignored: a view never fails a run."""
    return _Guarded(_LISTENER.get())


class _Guarded:
    def __init__(self, inner: BackfillListener | None) -> None:
        self.inner = inner

    def _tell(self, method: str, *args: object) -> None:
        if self.inner is None:
            return
        try:
            getattr(self.inner, method)(*args)
        except Exception:
            log.warning("backfill listener failed (%s)", method, exc_info=True)

    def planned(self, plan: BackfillPlan) -> None:
        self._tell("planned", plan)

    def progressed(self, finished: int, total: int) -> None:
        self._tell("progressed", finished, total)

    def finished(self, outcome: BackfillOutcome) -> None:
        self._tell("finished", outcome)
