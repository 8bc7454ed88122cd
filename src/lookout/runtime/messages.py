"""The outbox messages of a window's alert transitions (and of a failed window): who hears
about which alert, when (silences, inhibition, held openings, P2 digests, grouping by owner),
and the Slack payloads. Ids are stable (`message_id`), so a re-run never queues one twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lookout.alerts.blockkit import to_block_kit, to_group_block_kit
from lookout.alerts.digest import held_for_digest
from lookout.alerts.health import failure_message
from lookout.alerts.lifecycle import AlertState, Transition
from lookout.alerts.messages import AlertMessage, build_alert_message
from lookout.alerts.silences import Silence, active_silence, inhibited
from lookout.config.models import Monitor
from lookout.store.drift_rows import DriftRow
from lookout.store.results import OutboxMessage
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.pipeline import Context

__all__ = [
    "FOLLOW_UP_KINDS",
    "failure_id",
    "failure_messages",
    "make_message_id",
    "outbox_messages",
]

log = logging.getLogger("lookout.pipeline")


def make_message_id(fingerprint: str, event: str, window: Window) -> str:
    key = f"{fingerprint}|{event}|{window.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def outbox_messages(
    ctx: Context,
    monitor: Monitor,
    transitions: list[Transition],
    window: Window,
    run_url: str | None,
    report_urls: dict[tuple[str, str], str] | None = None,
    drift_rows: Sequence[DriftRow] = (),
) -> tuple[list[OutboxMessage], dict[str, str]]:
    target = ctx.config.target
    report_urls = report_urls or {}
    drift_detail = {(r.release, r.cohort, f"drift.{r.column}"): r for r in drift_rows}
    silences = ctx.store.silences(active_at=datetime.now(UTC))
    firing = {a.fingerprint: a for a in ctx.store.alerts(monitor.name, state="firing")}
    for transition in transitions:  # the state after this window
        if transition.alert.state == "firing":
            firing[transition.alert.fingerprint] = transition.alert
        else:
            firing.pop(transition.alert.fingerprint, None)
    out = []
    regroup: dict[str, str] = {}  # digest-held opening -> the escalation that announces it
    openings: dict[str, list[tuple[int, AlertMessage]]] = {}  # owner -> (index in out, message)
    for transition in transitions:
        still_firing = transition.event in ("firing", "reminder", "severity_changed")
        if still_firing and ctx.store.alert_thread(transition.alert.fingerprint) is None:
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
        message_id = make_message_id(alert.fingerprint, transition.event, window)
        message = build_alert_message(
            message_id,
            alert,
            window,
            owner,
            default_channel=target.slack.default_channel,
            run_url=run_url,
            report_url=report_urls.get((alert.release, alert.cohort))
            or report_urls.get((alert.release, "*")),
            detail=_drift_detail(drift_detail.get((alert.release, alert.cohort, alert.metric))),
            reminder=transition.event == "reminder",
            previous_severity=transition.previous_severity,
        )
        payload = to_block_kit(message)
        digest = (
            transition.opens and alert.severity == "P2" and ctx.config.monitors.alerting.p2_digest
        )
        if digest:
            payload = held_for_digest(payload, message, window.start.date())
        elif transition.opens:
            openings.setdefault(alert.owner, []).append((len(out), message))
        held_opening = _digest_held(ctx, transition)
        if held_opening is not None:
            regroup[held_opening] = message_id
        out.append(
            OutboxMessage(
                message_id=message_id,
                kind="alert_opened" if held_opening else f"alert_{transition.event}",
                monitor=monitor.name,
                payload=payload,
                channel=message.channel,
                fingerprint=alert.fingerprint,
            )
        )
        edits_original = transition.event in ("resolved", "severity_changed")
        if edits_original and not _grouped(ctx, alert.fingerprint):
            # the original message, edited to show it is resolved or its new severity (bot
            # token only; a grouped message is not edited: it speaks of other alerts too)
            out.append(
                OutboxMessage(
                    message_id=make_message_id(alert.fingerprint, "update", window),
                    kind="alert_update",
                    monitor=monitor.name,
                    payload=to_block_kit(replace(message, message_id="")),
                    channel=message.channel,
                    fingerprint=alert.fingerprint,
                )
            )
    if ctx.config.monitors.alerting.group:
        _group_openings(monitor, out, openings)
    return out, regroup


_SEVERITY_ORDER = {"P0": 0, "P1": 1, "P2": 2}
FOLLOW_UP_KINDS = ("alert_resolved", "alert_update", "alert_severity_changed")


def _digest_held(ctx: Context, transition: Transition) -> str | None:
    """A P2 that escalates while its opening still waits for the daily digest is announced now,
    as an opening of its own that later replies thread under; the waiting message (its id is
    returned) is then delivered with it instead of in the digest."""
    if transition.event != "severity_changed":
        return None
    thread = ctx.store.alert_thread(transition.alert.fingerprint)
    if thread is not None and thread.status == "pending" and "digest_day" in thread.payload:
        return thread.message_id
    return None


def _grouped(ctx: Context, fingerprint: str) -> bool:
    thread = ctx.store.alert_thread(fingerprint)
    return thread is not None and ctx.store.in_group(thread)


def _group_openings(
    monitor: Monitor, out: list[OutboxMessage], openings: dict[str, list[tuple[int, AlertMessage]]]
) -> None:
    """Alerts one window opens for one owner become one message (Alertmanager's grouping by
    owner and monitor): the most severe alert's outbox row carries the grouped payload; the
    others point at it and are delivered with it (their threads are the group's thread)."""
    for owner, items in openings.items():
        if len(items) < 2:
            continue
        items = sorted(items, key=lambda item: (_SEVERITY_ORDER.get(item[1].severity, 9), item[0]))
        leader_index, leader = items[0]
        worst = leader.severity
        title = f"[{worst}] {monitor.name}: {len(items)} alerts for {owner}"
        out[leader_index] = replace(
            out[leader_index], payload=to_group_block_kit([m for _, m in items], title)
        )
        for index, _ in items[1:]:
            out[index] = replace(out[index], payload={"grouped_into": leader.message_id})


def failure_id(monitor: Monitor, window: Window) -> str:
    """The id of a window's failure notice (a commit of the window withdraws it)."""
    return make_message_id(f"{monitor.name}|failure", "failed", window)


def failure_messages(
    ctx: Context, monitor: Monitor, window: Window, error: str
) -> list[OutboxMessage]:
    """One message per failed window to the monitor's owner (stable id: never twice)."""
    owner_name = monitor.health_owner
    if owner_name is None:
        return []
    owner = ctx.config.monitors.owners[owner_name]
    message_id = failure_id(monitor, window)
    message = failure_message(
        message_id,
        monitor,
        window,
        error,
        owner_name,
        owner,
        ctx.config.target.slack.default_channel,
    )
    return [
        OutboxMessage(
            message_id=message_id,
            kind="monitor_failure",
            monitor=monitor.name,
            payload=to_block_kit(message),
            channel=message.channel,
        )
    ]


def _held_back(
    ctx: Context, transition: Transition, silences: list[Silence], firing: Iterable[AlertState]
) -> str | None:
    """Why a notifying transition sends nothing: a silence, a firing P0, or (for a resolve)
    no opening message was ever sent for it."""
    alert = transition.alert
    silence = active_silence(alert, silences, datetime.now(UTC))
    if silence is not None:
        return f"silenced by {silence.silence_id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC"
    policy = ctx.config.monitors.alerting
    if transition.opens:
        muting = inhibited(alert, firing, policy.inhibit_equal) if policy.inhibit else None
        if muting is not None:
            return f"inhibited by the firing P0 {muting.rule} ({muting.cohort})"
    elif ctx.store.alert_thread(alert.fingerprint) is None:
        return "its opening message was held back"
    return None


def _drift_detail(row: DriftRow | None) -> str | None:
    """`wasserstein 0.42 > 0.1 against <reference> (n 102 vs 2,411)` for a drifted column."""
    if row is None or row.score is None:
        return None
    return (
        f"{row.method} {row.score:.3g} (threshold {row.threshold:.3g}) against "
        f"{row.reference}; n {row.n_current:,} vs {row.n_reference:,}"
    )
