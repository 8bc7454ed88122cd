"""Alert lifecycle (pure): open, keep firing, resolve, by a stable fingerprint.

Fingerprint = rule x monitor x release x cohort, so re-running a window or backfilling never
opens a second alert for the same problem. Only windows at or after the newest one an alert has
seen may resolve it, so a backfill of older windows cannot close a live alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from lookout.alerts.rules import Evaluation
from lookout.windows import Window

__all__ = ["AlertEvent", "AlertState", "Transition", "apply_evaluations", "fingerprint"]

AlertEvent = Literal["opened", "reopened", "firing", "reminder", "severity_changed", "resolved"]


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
    state: Literal["firing", "resolved"]
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


@dataclass(frozen=True)
class Transition:
    """What happened to one alert in one window; opening and resolving produce messages."""

    event: AlertEvent
    alert: AlertState
    window: Window
    notify_resolved: bool = True
    previous_severity: str | None = None  # severity_changed: from what

    @property
    def opens(self) -> bool:
        return self.event in ("opened", "reopened")

    @property
    def notifies(self) -> bool:
        if self.event == "resolved":
            return self.notify_resolved
        return self.event in ("opened", "reopened", "reminder", "severity_changed")


def _new_alert(monitor: str, ev: Evaluation, window: Window, now: datetime) -> AlertState:
    rule = ev.rule
    return AlertState(
        fingerprint=fingerprint(rule.name, monitor, ev.release, ev.cohort),
        monitor=monitor,
        rule=rule.name,
        release=ev.release,
        cohort=ev.cohort,
        metric=rule.metric,
        severity=ev.severity,
        owner=rule.owner,
        state="firing",
        op=rule.op,
        threshold=ev.threshold,
        value=ev.value.value,
        n=ev.value.n,
        first_window_start=window.start,
        last_window_start=window.start,
        opened_at=now,
        updated_at=now,
        runbook=rule.runbook,
        last_notified_window=window.start,
        reference=ev.reference.value if ev.reference else None,
        reference_label=ev.reference.label if ev.reference else None,
    )


def _latest(ev: Evaluation) -> dict[str, object]:
    """What the newest window says about a firing alert."""
    return {
        "value": ev.value.value,
        "n": ev.value.n,
        "severity": ev.severity,
        "threshold": ev.threshold,
        "reference": ev.reference.value if ev.reference else None,
        "reference_label": ev.reference.label if ev.reference else None,
    }


def apply_evaluations(
    monitor: str,
    existing: Mapping[str, AlertState],
    evaluations: Iterable[Evaluation],
    window: Window,
    now: datetime,
) -> list[Transition]:
    """The alert changes one window's evaluations cause, given the alerts already stored."""
    out: list[Transition] = []
    for ev in evaluations:
        if ev.outcome in ("not_enough_data", "inconclusive"):
            continue
        fp = fingerprint(ev.rule.name, monitor, ev.release, ev.cohort)
        current = existing.get(fp)
        if ev.outcome == "breach":
            if current is None:
                out.append(Transition("opened", _new_alert(monitor, ev, window, now), window))
            elif current.state == "resolved" and window.start > current.last_window_start:
                fresh = _new_alert(monitor, ev, window, now)
                out.append(Transition("reopened", fresh, window))
            elif current.state == "firing":
                newest = window.start >= current.last_window_start
                updated = replace(
                    current,
                    first_window_start=min(current.first_window_start, window.start),
                    last_window_start=max(current.last_window_start, window.start),
                    updated_at=now,
                    **(_latest(ev) if newest else {}),
                )
                remind = ev.rule.remind_after
                last = current.last_notified_window or current.first_window_start
                if newest and ev.severity != current.severity:
                    updated = replace(updated, last_notified_window=window.start)
                    out.append(
                        Transition(
                            "severity_changed", updated, window, previous_severity=current.severity
                        )
                    )
                elif remind is not None and window.start - last >= remind:
                    updated = replace(updated, last_notified_window=window.start)
                    out.append(Transition("reminder", updated, window))
                else:
                    out.append(Transition("firing", updated, window))
        elif (
            current is not None
            and current.state == "firing"
            and window.start > current.last_window_start
        ):
            resolved = replace(
                current,
                state="resolved",
                value=ev.value.value,
                n=ev.value.n,
                last_window_start=window.start,
                updated_at=now,
                resolved_at=now,
            )
            out.append(Transition("resolved", resolved, window, ev.rule.notify_resolved))
    return out
