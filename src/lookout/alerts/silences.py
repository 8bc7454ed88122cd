"""Silences and inhibition (pure): which notifications are held back, and why.

A silence has matchers on an alert's labels (`monitor`, `rule`, `release`, `cohort`, `severity`,
`owner`, `metric`; values are globs, `*` matches anything) and an expiry. Inhibition follows
Alertmanager's classic rule: while a P0 alert fires on a monitor and release, that monitor's
P1/P2 alerts for the same release send nothing (the on-call person already has the page).
In both cases the alert's state still changes; only its messages are held back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lookout.model.alerts import AlertState, Silence

__all__ = ["LABELS", "active_silence", "inhibited", "parse_matchers"]

LABELS = ("monitor", "rule", "release", "cohort", "severity", "owner", "metric", "fingerprint")


def parse_matchers(items: Iterable[str]) -> dict[str, str]:
    """`rule=error_rate`, `cohort=region=apac` (split at the first `=`); labels are checked."""
    out: dict[str, str] = {}
    for item in items:
        label, sep, pattern = item.partition("=")
        if not sep or not pattern:
            raise ValueError(f"matcher {item!r}: expected label=value")
        if label not in LABELS:
            raise ValueError(
                f"matcher {item!r}: unknown label {label!r} (labels: {', '.join(LABELS)})"
            )
        out[label] = pattern
    if not out:
        raise ValueError("a silence needs at least one matcher")
    return out


def active_silence(alert: AlertState, silences: Iterable[Silence], now: datetime) -> Silence | None:
    for silence in silences:
        if silence.active(now) and silence.matches(alert):
            return silence
    return None


def inhibited(
    alert: AlertState,
    firing: Iterable[AlertState],
    equal: Iterable[str] = ("monitor", "release"),
) -> AlertState | None:
    """The firing P0 that mutes this P1/P2 alert (equal on the `equal` labels), if any."""
    if alert.severity == "P0":
        return None
    labels = tuple(equal)
    for other in firing:
        if (
            other.severity == "P0"
            and other.state == "firing"
            and other.fingerprint != alert.fingerprint
            and all(getattr(other, label) == getattr(alert, label) for label in labels)
        ):
            return other
    return None
