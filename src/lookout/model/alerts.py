"""Alerts as data (pure types): an alert's state by fingerprint, what happened to it in a window,
and a silence. The lifecycle (`lookout.alerts.lifecycle`) moves them; the store keeps them."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lookout.windows import Window

__all__ = [
    "AlertEvent",
    "AlertState",
    "AlertStatus",
    "Silence",
    "Transition",
    "fingerprint",
]

AlertEvent = Literal[
    "pending",
    "cleared",
    "opened",
    "reopened",
    "firing",
    "reminder",
    "severity_changed",
    "resolved",
    "stale",  # resolved because its scope had no evaluable data for `stale_after`
]
AlertStatus = Literal["pending", "firing", "resolved", "inactive"]


def fingerprint(rule: str, monitor: str, release: str, cohort: str) -> str:
    key = "\x1f".join((rule, monitor, release, cohort))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class AlertState:
    fingerprint: str
    monitor: str
    rule: str
    release: str
    cohort: str
    metric: str
    severity: str
    owner: str
    state: AlertStatus
    op: str
    threshold: float
    value: float
    n: int
    first_window_start: datetime
    last_window_start: datetime
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    runbook: str | None = None
    last_notified_window: datetime | None = None  # start of the window of its last message
    reference: float | None = None  # change rules: the value compared with
    reference_label: str | None = None  # ...and where it comes from
    breaches: int = 0  # breaching evaluations in a row (pending), or of the episode (firing)
    last_breach_window: datetime | None = None  # start of the newest breaching window
    resolved_before: bool = False  # pending or inactive after an earlier episode (a reopen)
    # `value` pooled over the windows from this start to its own window's end (a window with
    # too few records, an `over:` lookback); None: the value is its window's own
    pooled_from: datetime | None = None
    # reopenings in a row that came soon after a resolve (`lookout.alerts.lifecycle`): each
    # doubles the normal time its next resolve needs
    flaps: int = 0


@dataclass(frozen=True)
class Transition:
    """What happened to one alert in one window; opening and resolving produce messages."""

    event: AlertEvent
    alert: AlertState
    window: Window
    notify_resolved: bool = True
    previous_severity: str | None = None  # severity_changed: from what
    note: str | None = None  # kept in the history: why it was not paged, when data stopped

    @property
    def opens(self) -> bool:
        return self.event in ("opened", "reopened")

    @property
    def notifies(self) -> bool:
        if self.event in ("resolved", "stale"):
            return self.notify_resolved
        return self.event in ("opened", "reopened", "reminder", "severity_changed")


@dataclass(frozen=True)
class Silence:
    silence_id: str
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, alert: AlertState) -> bool:
        return all(
            fnmatch.fnmatchcase(str(getattr(alert, label)), pattern)
            for label, pattern in self.matchers.items()
        )
