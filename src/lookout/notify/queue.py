"""What a window's alert transitions queue: who hears about which alert, on which channels, and
how each message refers to the others.

Per transition that notifies (and is not held back by a silence, a firing P0, or an opening
that was never sent): one neutral message per route of the owner that takes its severity
(Slack always; email and PagerDuty from `min_severity`). References are decided here and
stored in columns, never looked up at send time: a reply or a resolve points at the opening
message of its own episode (`reply_to`), the edit of the original at that opening (`edits`),
a window's openings for one owner at their group message (`group_id`), a P2 opening at its
day's digest (`digest_day`, then `group_id` once the digest is composed). Ids are stable, so a
re-run never queues a message twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from lookout.alerts.silences import active_silence, inhibited
from lookout.config.loader import LookoutConfig
from lookout.config.models import Monitor, Owner
from lookout.model.alerts import AlertState, Silence, Transition
from lookout.notify.builder import AlertContext, alert_message, failure_message, group_message
from lookout.notify.findings import NO_FINDING, Findings
from lookout.notify.message import AlertRef, Message, severity_rank
from lookout.store.outbox import OutboxMessage
from lookout.store.results import ResultsStore
from lookout.windows import Window

__all__ = [
    "FOLLOW_UP_KINDS",
    "QueueContext",
    "QueuedMessages",
    "Route",
    "ack_messages",
    "failure_fingerprint",
    "failure_id",
    "failure_messages",
    "make_message_id",
    "outbox_messages",
    "routes_of",
]

log = logging.getLogger("lookout.pipeline")


class QueueContext(Protocol):
    """The port the outbox queue runs against: the config (owners, routes) and the store
    (silences, alerts, the outbox); the runtime's `Context` is the implementation."""

    @property
    def config(self) -> LookoutConfig: ...
    @property
    def store(self) -> ResultsStore: ...


# what a backfill without notify still sends: the follow-ups of alerts that were announced
FOLLOW_UP_KINDS = ("resolve", "update", "severity_change", "stale")
_REPLIES = ("resolve", "reminder", "severity_change", "stale")
_EDITING = ("resolve", "severity_change", "stale")
_GROUPABLE = ("slack", "email")  # channels where several alerts make one message


@dataclass(frozen=True)
class Route:
    """One way an owner is told: a channel type and its target (a Slack channel, an email
    list), for messages at least as severe as `min_severity`."""

    channel_type: Literal["slack", "email", "pagerduty"]
    target: str | None
    min_severity: str = "P2"

    def takes(self, severity: str) -> bool:
        return severity_rank(severity) <= severity_rank(self.min_severity)


def routes_of(owner: Owner, default_channel: str | None) -> list[Route]:
    """Slack always (the owner's channel, else the profile's default); email and PagerDuty
    when the owner has them."""
    out = [Route("slack", owner.channel or default_channel)]
    email = getattr(owner, "email", None)
    if email is not None:
        out.append(Route("email", ",".join(email.to), email.min_severity))
    pagerduty = getattr(owner, "pagerduty", None)
    if pagerduty is not None:
        out.append(Route("pagerduty", None, pagerduty.min_severity))
    return out


def make_message_id(fingerprint: str, event: str, window: Window) -> str:
    key = f"{fingerprint}|{event}|{window.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _routed_id(base: str, route: Route) -> str:
    """Slack keeps the plain id (the exactly-once marker of sent messages carries it)."""
    return base if route.channel_type == "slack" else f"{base}-{route.channel_type}"


@dataclass
class QueuedMessages:
    messages: list[OutboxMessage] = field(default_factory=list)
    supersede: list[str] = field(default_factory=list)  # held openings announced otherwise


def _held_back(
    ctx: QueueContext, transition: Transition, silences: list[Silence], firing: Iterable[AlertState]
) -> str | None:
    """Why a notifying transition sends nothing: a silence, a firing P0, or (for a follow-up)
    no opening message was ever queued for it."""
    alert = transition.alert
    silence = active_silence(alert, silences, datetime.now(UTC))
    closes = transition.event in ("resolved", "stale")
    if silence is not None and not closes:
        # a silence (an acknowledgement) holds back news of a live alert; its end still goes
        # out, so an acknowledged PagerDuty incident is resolved and its Slack thread closed
        return f"silenced by {silence.silence_id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC"
    policy = ctx.config.monitors.alerting
    if transition.opens:
        muting = inhibited(alert, firing, policy.inhibit_equal) if policy.inhibit else None
        if muting is not None:
            return f"inhibited by the firing P0 {muting.rule} ({muting.cohort})"
    elif ctx.store.outbox_repo.thread_root(alert.fingerprint, "slack") is None:
        return "its opening message was held back"
    return None


def outbox_messages(
    ctx: QueueContext,
    monitor: Monitor,
    transitions: list[Transition],
    window: Window,
    run_url: str | None,
    findings: Findings | None = None,
) -> QueuedMessages:
    """The outbox messages of one window's transitions (see the module docstring).
    `findings` says what the window's stages found about an alert and links its page."""
    silences = ctx.store.silences(active_at=datetime.now(UTC))
    firing = {a.fingerprint: a for a in ctx.store.alerts(monitor.name, state="firing")}
    for transition in transitions:  # the state after this window
        if transition.alert.state == "firing":
            firing[transition.alert.fingerprint] = transition.alert
        else:
            firing.pop(transition.alert.fingerprint, None)
    out = QueuedMessages()
    openings: dict[tuple[str, str], list[tuple[int, Message]]] = {}  # (owner, type) -> members
    default_channel = ctx.config.target.slack.default_channel
    for transition in transitions:
        still_firing = transition.event in ("firing", "reminder", "severity_changed")
        root = ctx.store.outbox_repo.thread_root(transition.alert.fingerprint, "slack")
        late = still_firing and root is None
        if late:
            # never announced (a firing P0 or a silence held it back): announce it once nothing
            # holds it back any more, as Alertmanager does when the inhibiting alert resolves
            transition = replace(transition, event="opened", previous_severity=None)
        if not transition.notifies:
            continue
        alert = transition.alert
        held = _held_back(ctx, transition, silences, firing.values())
        if held:
            log.info(
                "alert %s %s %s: no message (%s)", alert.rule, alert.release, alert.cohort, held
            )
            continue
        owner = ctx.config.monitors.owners[alert.owner]
        finding = findings.about(alert) if findings is not None else NO_FINDING
        for route in routes_of(owner, default_channel):
            if not route.takes(alert.severity):
                continue
            context = AlertContext(
                window=window,
                owner=owner,
                channel=route.target if route.channel_type == "slack" else None,
                run_url=run_url,
                finding=finding,
                previous_severity=transition.previous_severity,
                late=late,
            )
            _queue_alert(ctx, monitor, transition, route, context, window, out, openings)
    if ctx.config.monitors.alerting.group:
        _group_openings(ctx, monitor, window, out, openings)
    return out


def _queue_alert(
    ctx: QueueContext,
    monitor: Monitor,
    transition: Transition,
    route: Route,
    context: AlertContext,
    window: Window,
    out: QueuedMessages,
    openings: dict[tuple[str, str], list[tuple[int, Message]]],
) -> None:
    alert = transition.alert
    kind_type = route.channel_type
    if kind_type == "pagerduty" and transition.event == "reminder":
        return  # an incident stays open in PagerDuty: nothing to remind
    message = alert_message(transition.event, alert, context)
    base = make_message_id(alert.fingerprint, transition.event, window)
    root = ctx.store.outbox_repo.thread_root(alert.fingerprint, kind_type)
    reply_to = root.message_id if root is not None and message.kind in _REPLIES else None
    if kind_type == "pagerduty" and message.kind in ("resolve", "stale") and root is None:
        return  # no incident was triggered for it
    kind = message.kind
    if message.kind == "severity_change" and root is not None and _held_for_digest(root):
        # a P2 that escalates while its opening waits for the digest is announced now, as the
        # opening that later replies thread under; the held message is not sent
        out.supersede.append(root.message_id)
        kind, reply_to = "open", None
        message = replace(message, kind="open")
    digest_day = None
    opens = kind in ("open", "reopen")
    if (
        opens
        and alert.severity == "P2"
        and kind_type in _GROUPABLE
        and ctx.config.monitors.alerting.p2_digest
    ):
        digest_day = window.start.date().isoformat()
    elif opens and kind_type in _GROUPABLE:
        openings.setdefault((alert.owner, kind_type), []).append((len(out.messages), message))
    out.messages.append(
        OutboxMessage(
            message_id=_routed_id(base, route),
            kind=kind,
            monitor=monitor.name,
            payload=message.to_json(),
            channel=route.target,
            fingerprint=alert.fingerprint,
            channel_type=kind_type,
            owner=alert.owner,
            severity=alert.severity,
            digest_day=digest_day,
            reply_to=reply_to,
        )
    )
    if kind in _EDITING and kind_type == "slack" and root is not None and not _in_group(root):
        # the original message, edited to show its new state (a grouped or digest message
        # speaks of other alerts too: it is not edited)
        edit = make_message_id(alert.fingerprint, "update", window)
        out.messages.append(
            OutboxMessage(
                message_id=edit,
                kind="update",
                monitor=monitor.name,
                payload=replace(message, kind="update").to_json(),
                channel=route.target,
                fingerprint=alert.fingerprint,
                channel_type=kind_type,
                owner=alert.owner,
                severity=alert.severity,
                edits=root.message_id,
            )
        )


def _held_for_digest(row) -> bool:  # type: ignore[no-untyped-def]
    return row.status == "pending" and row.digest_day is not None and row.group_id is None


def _in_group(row) -> bool:  # type: ignore[no-untyped-def]
    return row.group_id is not None or row.digest_day is not None


def _group_openings(
    ctx: QueueContext,
    monitor: Monitor,
    window: Window,
    out: QueuedMessages,
    openings: dict[tuple[str, str], list[tuple[int, Message]]],
) -> None:
    """Alerts one window opens for one owner become one message per channel (Alertmanager's
    grouping by owner and monitor): a group message listing them, each alert's own message
    delivered inside it (their later replies thread under the group message). The group
    message is queued just before its first member."""
    leaders: dict[str, OutboxMessage] = {}  # first member's id -> its group's message
    member_of: dict[str, str] = {}  # member id -> group message id
    for (owner_name, kind_type), items in openings.items():
        if len(items) < 2:
            continue
        items = sorted(items, key=lambda item: (severity_rank(item[1].severity), item[0]))
        members = [message for _, message in items]
        worst = members[0].severity
        title = f"[{worst}] {monitor.name}: {len(items)} alerts for {owner_name}"
        owner = ctx.config.monitors.owners[owner_name]
        leader = group_message("group", title, owner_name, owner, members)
        leader_id = make_message_id(f"{monitor.name}|{owner_name}|{kind_type}", "group", window)
        rows = [out.messages[index] for index, _ in items]
        first = min(items, key=lambda item: item[0])[0]
        leaders[out.messages[first].message_id] = OutboxMessage(
            message_id=leader_id,
            kind="group",
            monitor=monitor.name,
            payload=leader.to_json(),
            channel=rows[0].channel,
            channel_type=kind_type,
            owner=owner_name,
            severity=worst,
        )
        member_of.update({row.message_id: leader_id for row in rows})
    grouped: list[OutboxMessage] = []
    for message in out.messages:
        if message.message_id in leaders:
            grouped.append(leaders[message.message_id])
        group_id = member_of.get(message.message_id)
        grouped.append(replace(message, group_id=group_id) if group_id else message)
    out.messages = grouped


def ack_messages(config: LookoutConfig, alert: AlertState, now: datetime) -> list[OutboxMessage]:
    """`lookout alerts ack`: an acknowledgement for each PagerDuty route of the alert's owner
    (the incident stops escalating); other channels are told nothing."""
    owner = config.monitors.owners.get(alert.owner)
    if owner is None or owner.pagerduty is None:
        return []
    message = Message(
        kind="ack",
        severity=alert.severity,
        title=f"[ACK] [{alert.severity}] {alert.monitor}: {alert.rule}",
        summary=f"acknowledged {alert.rule} for release {alert.release}, {alert.cohort}",
        owner=alert.owner,
        alert=AlertRef(
            alert.fingerprint, alert.monitor, alert.rule, alert.release, alert.cohort, alert.state
        ),
    )
    base = hashlib.sha256(f"{alert.fingerprint}|ack|{now.isoformat()}".encode()).hexdigest()[:32]
    return [
        OutboxMessage(
            message_id=f"{base}-pagerduty",
            kind="ack",
            monitor=alert.monitor,
            payload=message.to_json(),
            fingerprint=alert.fingerprint,
            channel_type="pagerduty",
            owner=alert.owner,
            severity=alert.severity,
        )
    ]


def failure_id(monitor: Monitor, window: Window) -> str:
    """The id of a window's failure notice (a commit of the window withdraws it)."""
    return make_message_id(f"{monitor.name}|failure", "failed", window)


# times in an error (a query's bounds, a window's label) differ from window to window
_TIMES = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def failure_fingerprint(monitor: Monitor, error: str) -> str:
    """The same error of one monitor on any window: a notice with this fingerprint sent in
    the last day is not sent again (`window_commit.enqueue_failure`)."""
    key = f"{monitor.name}|failure|{_TIMES.sub('<time>', error)}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def failure_messages(
    ctx: QueueContext, monitor: Monitor, window: Window, error: str
) -> list[OutboxMessage]:
    """One message per failed window and route to the monitor's owner (stable id); the
    fingerprint names the error, so a repeat on later windows pages once a day."""
    owner_name = monitor.health_owner
    if owner_name is None:
        return []
    owner = ctx.config.monitors.owners[owner_name]
    base = failure_id(monitor, window)
    fingerprint = failure_fingerprint(monitor, error)
    out = []
    for route in routes_of(owner, ctx.config.target.slack.default_channel):
        if not route.takes("P1") or route.channel_type == "pagerduty":
            continue
        channel = route.target if route.channel_type == "slack" else None
        message = failure_message(monitor, window, error, owner_name, owner, channel)
        out.append(
            OutboxMessage(
                message_id=_routed_id(base, route),
                kind="failure",
                monitor=monitor.name,
                payload=message.to_json(),
                fingerprint=fingerprint,
                channel=route.target,
                channel_type=route.channel_type,
                owner=owner_name,
                severity="P1",
            )
        )
    return out
