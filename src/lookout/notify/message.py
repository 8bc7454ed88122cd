"""The neutral message: what an owner is told, before any channel's syntax.

Built from an alert transition (or a failed window, a digest, a group) by one builder with a
fixed section order: a title (severity, monitor, rule), one line of what changed, facts, tables
(the failing checks of a window, example record ids), links, and the owner with typed mentions.
It is stored as it is in the outbox; each channel (Slack, email, PagerDuty, files) renders it at
send time with its own format, escaping logged values for its own syntax. Values that come from
logged data (release names, cohort values, error texts) are kept raw here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SEVERITIES",
    "AlertRef",
    "Fact",
    "Link",
    "Mention",
    "Message",
    "MessageKind",
    "Table",
    "severity_rank",
]

MessageKind = Literal[
    "open",
    "reopen",
    "resolve",
    "reminder",
    "severity_change",
    "stale",
    "update",  # the original message, edited to show the alert's new state
    "group",  # several alerts one window opened for one owner
    "digest",  # a day's P2 alerts for one owner
    "failure",  # a window that could not be processed
    "ack",  # an acknowledgement (PagerDuty)
]

SEVERITIES = ("P0", "P1", "P2")


def severity_rank(severity: str) -> int:
    """P0 (most severe) = 0; anything else (resolved) after P2."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


@dataclass(frozen=True)
class Mention:
    """Someone to notify, as the channel knows them (never a pre-rendered `<@U…>` string)."""

    kind: Literal["slack_user", "slack_group"]
    id: str


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Table:
    """A small table (the failing expectations of a window; example records)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class AlertRef:
    """Which alert a message is about (PagerDuty dedups on the fingerprint)."""

    fingerprint: str
    monitor: str
    rule: str
    release: str
    cohort: str
    state: str  # pending, firing, resolved


@dataclass(frozen=True)
class Message:
    kind: MessageKind
    severity: str  # P0, P1, P2, or "resolved"
    title: str
    summary: str  # one line of what changed
    owner: str
    mentions: tuple[Mention, ...] = ()
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
    links: tuple[Link, ...] = ()
    items: tuple[Message, ...] = ()  # a group or digest: the alerts in it
    alert: AlertRef | None = None
    channel: str | None = None  # the Slack channel of the owner's route, if any
    extra: dict[str, Any] = field(default_factory=dict)

    # -- storage (the outbox keeps the neutral message as JSON) --------------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "owner": self.owner,
        }
        if self.mentions:
            data["mentions"] = [[m.kind, m.id] for m in self.mentions]
        if self.facts:
            data["facts"] = [[f.label, f.value] for f in self.facts]
        if self.tables:
            data["tables"] = [
                {"title": t.title, "columns": list(t.columns), "rows": [list(r) for r in t.rows]}
                for t in self.tables
            ]
        if self.links:
            data["links"] = [[link.label, link.url] for link in self.links]
        if self.items:
            data["items"] = [item.to_json() for item in self.items]
        if self.alert is not None:
            a = self.alert
            data["alert"] = [a.fingerprint, a.monitor, a.rule, a.release, a.cohort, a.state]
        if self.channel:
            data["channel"] = self.channel
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        alert = data.get("alert")
        return cls(
            kind=data["kind"],
            severity=data["severity"],
            title=data["title"],
            summary=data["summary"],
            owner=data["owner"],
            mentions=tuple(Mention(k, i) for k, i in data.get("mentions", [])),
            facts=tuple(Fact(label, value) for label, value in data.get("facts", [])),
            tables=tuple(
                Table(t["title"], tuple(t["columns"]), tuple(tuple(r) for r in t["rows"]))
                for t in data.get("tables", [])
            ),
            links=tuple(Link(label, url) for label, url in data.get("links", [])),
            items=tuple(cls.from_json(item) for item in data.get("items", [])),
            alert=AlertRef(*alert) if alert else None,
            channel=data.get("channel"),
            extra=dict(data.get("extra", {})),
        )
