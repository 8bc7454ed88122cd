"""Catch-up without paging the past: which windows of a run may page, and the run log's line.

A run that processes many windows (the first run on a new store, a run after downtime) would
otherwise page about incidents that began and ended hours or days ago. Windows that ended more
than `alerting.notify_within` windows before the run's time are run with `notify` off: their
alert transitions are stored (state and history) but announce nothing; an alert still firing
in the recent windows is announced there once, as an opening that says since when (the queue
announces a firing alert whose opening was never sent). The resolve of an alert that was
announced before the downtime is still sent (`FOLLOW_UP_KINDS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lookout.config.models import Monitor
from lookout.windows import Window

__all__ = ["catch_up_line", "may_page"]


def may_page(monitor: Monitor, window: Window, as_of: datetime, notify_within: int) -> bool:
    """May this window's alert transitions page? Only the newest `notify_within` windows."""
    return window.end > as_of - notify_within * monitor.window.size


def catch_up_line(monitor: str, quiet: Iterable, paged: Iterable, notify_within: int) -> str | None:
    """One line for the run log about a monitor's windows that did not page (`RunResult`s of
    the quiet windows, then of the paging ones); None when every window paged."""
    quiet = sorted(quiet, key=lambda r: r.window.start)
    if not quiet:
        return None
    live: set[str] = set()  # opened in a quiet window, not resolved since
    past = 0  # episodes that opened and resolved in quiet windows
    for result in quiet:
        for fingerprint in result.alerts_resolved:
            if fingerprint in live:
                live.discard(fingerprint)
                past += 1
        live |= set(result.alerts_opened)
    resolved_later = {f for r in paged for f in r.alerts_resolved}
    still = live - resolved_later
    first, last = quiet[0].window, quiet[-1].window
    return (
        f"catch-up of {monitor}: {len(quiet)} window(s) {first.start:%Y-%m-%d %H:%M}–"
        f"{last.end:%Y-%m-%d %H:%M} UTC older than {notify_within} window(s) paged nobody; "
        f"{past} alert(s) opened and resolved in them (kept in the history), "
        f"{len(still)} still firing (announced once, with since when)"
    )
