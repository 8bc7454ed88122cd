"""Neutral message -> PagerDuty Events API v2 events (pure; golden-file tested).

A PagerDuty incident is one alert, deduplicated on `dedup_key` = the alert's fingerprint:
opening, reopening or changing the severity of an alert triggers (a repeated trigger joins the
open incident), resolving it (or closing it as stale) resolves, `lookout alerts ack`
acknowledges. A group or digest becomes one event per alert in it. Reminders and edits send
nothing: the incident is open already, and PagerDuty re-notifies by its own escalation policy.
A window that could not be processed triggers at the monitor's own key
(`lookout:<monitor>:window-failure`), so repeated failures are one incident, resolved by hand.

The routing key is not part of these events: the channel adds it when it sends, so a rendered
event (a golden file, a log line) never holds it.
"""

from __future__ import annotations

from typing import Any

from lookout.notify.formats.values import clip, http_url, one_line, printable
from lookout.notify.message import Message

__all__ = [
    "ACTIONS",
    "MAX_SUMMARY_CHARS",
    "SEVERITY",
    "dedup_key",
    "to_events",
]

MAX_SUMMARY_CHARS = 1024  # PagerDuty refuses a longer payload.summary
SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning"}
ACTIONS: dict[str, str | None] = {
    "open": "trigger",
    "reopen": "trigger",
    "severity_change": "trigger",
    "failure": "trigger",
    "resolve": "resolve",
    "stale": "resolve",
    "ack": "acknowledge",
    "reminder": None,
    "update": None,
}


def dedup_key(message: Message) -> str:
    """The incident a message belongs to: its alert's fingerprint, or for a failed window the
    monitor's own key. ValueError when the message names neither."""
    if message.kind == "failure":
        monitor = message.alert.monitor if message.alert else message.extra.get("monitor")
        if not monitor:
            raise ValueError("a failure message needs its monitor (alert ref or extra.monitor)")
        return f"lookout:{monitor}:window-failure"
    if message.alert is None:
        raise ValueError(f"a {message.kind!r} message carries no alert (no fingerprint)")
    return message.alert.fingerprint


def _details(message: Message) -> dict[str, Any]:
    details: dict[str, Any] = {"summary": printable(message.summary), "owner": message.owner}
    for fact in message.facts:
        details[one_line(fact.label)] = printable(fact.value)
    for table in message.tables:
        details[one_line(table.title)] = [
            dict(zip(table.columns, row, strict=False)) for row in table.rows
        ]
    return details


def _trigger(message: Message, key: str) -> dict[str, Any]:
    if message.severity not in SEVERITY:
        raise ValueError(f"cannot trigger at severity {message.severity!r} (P0, P1 or P2)")
    payload: dict[str, Any] = {
        "summary": clip(one_line(message.title), MAX_SUMMARY_CHARS),
        "severity": SEVERITY[message.severity],
        "source": message.alert.monitor if message.alert else str(message.extra["monitor"]),
        "custom_details": _details(message),
    }
    if message.alert is not None and message.kind != "failure":
        payload["component"] = message.alert.release
        payload["group"] = "all traffic" if message.alert.cohort == "*" else message.alert.cohort
        payload["class"] = message.alert.rule
    links = [
        {"href": url, "text": one_line(link.label)}
        for link in message.links
        if (url := http_url(link.url)) is not None
    ]
    event: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": payload,
        "client": "Lookout",
    }
    if links:
        event["links"] = links
    return event


def to_events(message: Message) -> list[dict[str, Any]]:
    """The events for one message, in order (none for a reminder or an edit); a group or
    digest gives its alerts' events. ValueError for a message PagerDuty cannot take."""
    if message.kind in ("group", "digest"):
        return [event for item in message.items for event in to_events(item)]
    if message.kind not in ACTIONS:
        raise ValueError(f"unknown message kind {message.kind!r}")
    action = ACTIONS[message.kind]
    if action is None:
        return []
    key = dedup_key(message)
    if action == "trigger":
        return [_trigger(message, key)]
    return [{"event_action": action, "dedup_key": key}]
