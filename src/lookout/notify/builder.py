"""Alert transition -> neutral message, by one builder with a fixed section order.

Header: severity, monitor and the rule's name. Then one line of what changed: what the stage
behind the metric found (`Finding.headline`: the failing checks, the failing records, the
drifted column), then the value against its threshold or the reference it is compared with
("p95 4,298 ms vs 2,643 ms in release v12 (+63%)"), the period it was pooled over when the
window alone held too few records ("pooled over 2026-11-23 10:00–17:00 UTC (7 windows)"), and
since when. Then the facts (value, metric, release, cohort, window, the pooled period, since,
severity, reference, and the finding's own: records quarantined, example ids, a drift's
scores), the finding's table (failing checks, failing records), and links: runbook, the page
of the metric's family, the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from lookout.alerts.health import TRAFFIC_RATIO
from lookout.config.models import Monitor, Owner
from lookout.core.durations import format_span
from lookout.model.alerts import AlertState
from lookout.model.families.registry import FAMILIES
from lookout.notify.findings import NO_FINDING, Finding
from lookout.notify.message import AlertRef, Fact, Link, Mention, Message, MessageKind
from lookout.windows import Window

__all__ = [
    "MAX_ERROR_CHARS",
    "AlertContext",
    "alert_message",
    "failure_message",
    "format_value",
    "group_message",
    "mentions_of",
    "pooled_span",
]

MAX_ERROR_CHARS = 500
_SEVERITY_WORD = {"P0": "critical", "P1": "high", "P2": "low"}
_KIND_OF_EVENT: dict[str, MessageKind] = {
    "opened": "open",
    "reopened": "reopen",
    "resolved": "resolve",
    "reminder": "reminder",
    "severity_changed": "severity_change",
    "stale": "stale",
}


def format_value(metric: str, value: float) -> str:
    """Rates as percentages, times in ms, money in USD, counts as integers."""
    return FAMILIES.format(metric, value)


def pooled_span(pooled_from: datetime | None, window: Window) -> str | None:
    """`2026-11-23 10:00–17:00 UTC (7 windows)`: the period a value of `window` was pooled
    over (from `pooled_from` to the window's end); None when it is the window's own."""
    if pooled_from is None or pooled_from >= window.start:
        return None
    return f"{_period(pooled_from, window.end)} ({_windows(pooled_from, window)} windows)"


def _windows(pooled_from: datetime, window: Window) -> int:
    return round((window.end - pooled_from) / (window.end - window.start))


def _period(start: datetime, end: datetime) -> str:
    """`2026-11-23 10:00–17:00 UTC`; the end's day too when it is not the start's."""
    same_day = end - start <= timedelta(days=1) and (
        end.date() == start.date() or end.time() == time()
    )
    shown = f"{end:%H:%M}" if same_day else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{shown} UTC"


def mentions_of(owner: Owner) -> tuple[Mention, ...]:
    users = tuple(Mention("slack_user", user) for user in owner.slack_users)
    group = (Mention("slack_group", owner.slack_group),) if owner.slack_group else ()
    return users + group


def _runbook(alert: AlertState, owner: Owner) -> str | None:
    if alert.runbook:
        return alert.runbook
    if owner.runbook_base:
        return owner.runbook_base.rstrip("/") + "/" + alert.rule
    return None


@dataclass(frozen=True)
class AlertContext:
    """What the message of one alert transition is built from, besides the alert."""

    window: Window
    owner: Owner
    channel: str | None = None
    run_url: str | None = None
    finding: Finding = NO_FINDING  # what the stage behind the metric found, and its page
    previous_severity: str | None = None  # a severity change: from what
    late: bool = False  # an opening announced after the fact (a catch-up, a silence ended)


def _change_line(alert: AlertState) -> str:
    """`p95 latency 4,298 ms vs 2,643 ms in release v12 (+63%)`, or against the threshold."""
    metric = alert.metric
    value = format_value(metric, alert.value)
    if alert.reference is not None:
        reference = format_value(metric, alert.reference)
        change = ""
        if alert.reference:
            change = f" ({(alert.value - alert.reference) / abs(alert.reference):+.0%})"
        where = alert.reference_label or "the reference"
        return f"{metric} {value} vs {reference} in {where}{change}"
    return f"{metric} {value} {alert.op} {format_value(metric, alert.threshold)}"


def _duration(start: datetime, end: datetime) -> str:
    """How long an alert has been (or was) firing."""
    return format_span(end - start)


def _what(alert: AlertState, finding: Finding, flag: bool, over: str = "") -> str:
    """What is wrong: the finding first (checks, records, column), then the numbers (and the
    period they were pooled over: `over`)."""
    numbers = f"{alert.metric} {format_value(alert.metric, alert.value)}" if flag else None
    numbers = (numbers or _change_line(alert)) + over
    if finding.headline:
        return f"{finding.headline} ({numbers})"
    return numbers


def alert_message(event: str, alert: AlertState, ctx: AlertContext) -> Message:
    """One alert transition as a neutral message (kind from the event)."""
    kind = _KIND_OF_EVENT.get(event, "open")
    resolved = alert.state == "resolved"
    family = FAMILIES.family(alert.metric)
    flag = family is not None and family.unit == "flag"
    # a stale alert's window says nothing about a release it has no data of
    finding = Finding() if kind == "stale" else ctx.finding
    # ...nor is a stale alert's value (from before its scope went quiet) one of this window
    pooled = None if kind == "stale" else pooled_span(alert.pooled_from, ctx.window)
    title, summary = _headline(kind, alert, ctx, finding, flag, pooled)
    links = []
    runbook = _runbook(alert, ctx.owner)
    if runbook:
        links.append(Link("Runbook", runbook))
    if finding.link is not None:
        links.append(finding.link)
    if ctx.run_url:
        links.append(Link("Run", ctx.run_url))
    return Message(
        kind=kind,
        severity="resolved" if resolved else alert.severity,
        title=title,
        summary=summary,
        owner=alert.owner,
        mentions=mentions_of(ctx.owner),
        facts=tuple(_facts(alert, ctx, finding, resolved, flag, pooled)),
        # what still fails is worth a table while the alert fires, not once it resolved
        tables=() if resolved or kind == "stale" else finding.tables,
        links=tuple(links),
        alert=AlertRef(
            alert.fingerprint, alert.monitor, alert.rule, alert.release, alert.cohort, alert.state
        ),
        channel=ctx.channel,
    )


def _cohort_words(alert: AlertState) -> str:
    return "all traffic" if alert.cohort == "*" else alert.cohort


def _headline(
    kind: str,
    alert: AlertState,
    ctx: AlertContext,
    finding: Finding,
    flag: bool,
    pooled: str | None = None,
) -> tuple[str, str]:
    """The title and the one-line summary: what happened to the alert, in its kind's words."""
    metric = alert.metric
    where = f"release {alert.release}, {_cohort_words(alert)}"
    head = f"[{alert.severity}] {alert.monitor}: {alert.rule}"
    since = f"{alert.first_window_start:%Y-%m-%d %H:%M} UTC"
    lasted = _duration(alert.first_window_start, ctx.window.end)
    over = f" over {pooled}" if pooled else ""  # the value's period, when not the window's
    if kind == "stale":
        return f"[STALE] {head}", (
            f"no data for {where} since {alert.last_window_start:%Y-%m-%d %H:%M} UTC: "
            "resolved as stale"
        )
    if alert.state == "resolved":
        back = (
            f"{metric} no longer drifted"
            if flag
            else f"{metric} back to {format_value(metric, alert.value)}{over} (alerted at "
            f"{alert.op} {format_value(metric, alert.threshold)})"
        )
        now = f" — {finding.headline}" if finding.headline else ""
        return f"[RESOLVED] {head}", (
            f"resolved after {lasted} (since {since}): {back} for {where}{now}"
        )
    what = _what(alert, finding, flag, over)
    if kind == "severity_change":
        previous = ctx.previous_severity or "?"
        moved = "escalated" if alert.severity < previous else "de-escalated"
        return f"{head} {moved} from {previous}", (
            f"{moved} from {previous} to {alert.severity}: {what} for {where}"
        )
    if kind == "reminder":
        return f"[REMINDER] {head}", f"still firing since {since} ({lasted}): {what} for {where}"
    again = "again: " if kind == "reopen" else ""
    if ctx.late:
        again = f"firing since {since} ({lasted}): "
    return head, f"{again}{what} for {where}"


def _facts(
    alert: AlertState,
    ctx: AlertContext,
    finding: Finding,
    resolved: bool,
    flag: bool,
    pooled: str | None = None,
) -> list[Fact]:
    """The message's field list: the numbers, where, when, how severe, against what."""
    metric = alert.metric
    since = f"{alert.first_window_start:%Y-%m-%d %H:%M} UTC"
    lasted = _duration(alert.first_window_start, ctx.window.end)
    facts = [
        Fact("Value", _value_fact(alert, resolved, flag, pooled is not None, ctx.window)),
        Fact("Metric", f"{metric} ({FAMILIES.describe(metric)})"),
        Fact("Release", alert.release),
        Fact("Cohort", _cohort_words(alert)),
        Fact("Window", f"{ctx.window.start:%Y-%m-%d %H:%M}–{ctx.window.end:%H:%M} UTC"),
        *([Fact("Pooled over", pooled)] if pooled else []),
        Fact("Since", f"{since} ({lasted})"),
        Fact("Severity", f"{alert.severity} ({_SEVERITY_WORD.get(alert.severity, '')})"),
    ]
    if alert.reference is not None:
        reference = format_value(metric, alert.reference)
        facts.append(Fact("Reference", f"{reference} ({alert.reference_label})"))
    return facts + list(finding.facts)


def _value_fact(alert: AlertState, resolved: bool, flag: bool, pooled: bool, window: Window) -> str:
    value = format_value(alert.metric, alert.value)
    threshold = format_value(alert.metric, alert.threshold)
    if flag:
        shown = "no longer drifted" if resolved else value
    elif resolved:
        shown = f"{value} (alerted at {alert.op} {threshold})"
    else:
        shown = f"{value} {alert.op} {threshold}"
    over = ""
    if pooled and alert.pooled_from is not None:
        over = f" over {_windows(alert.pooled_from, window)} windows"
    if alert.metric == TRAFFIC_RATIO:  # its n is the rows the same hours usually hold
        rows = round(alert.value * alert.n)
        return f"{shown} ({rows:,} rows{over} where the same hours usually hold {alert.n:,})"
    return f"{shown} (n={alert.n:,}{over})"


def group_message(
    kind: MessageKind, title: str, owner_name: str, owner: Owner, items: list[Message]
) -> Message:
    """Several alerts for one owner as one message (a window's openings, a day's digest)."""
    worst = min((m.severity for m in items), default="P2")
    return Message(
        kind=kind,
        severity=worst,
        title=title,
        summary=f"{len(items)} alerts for {owner_name}",
        owner=owner_name,
        mentions=mentions_of(owner),
        items=tuple(items),
        channel=items[0].channel if items else None,
    )


def failure_message(
    monitor: Monitor,
    window: Window,
    error: str,
    owner_name: str,
    owner: Owner,
    channel: str | None,
) -> Message:
    """A failed window, for its owner: which window, what went wrong (redacted already)."""
    clipped = error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
    return Message(
        kind="failure",
        severity="P1",
        title=f"[P1] {monitor.name}: window {window.label} failed",
        summary=(
            f"Lookout could not process {monitor.name} {window.label}; its results and the "
            "watermark are unchanged and the next run retries it. The same error on other "
            "windows is not paged again for a day"
        ),
        owner=owner_name,
        mentions=mentions_of(owner),
        facts=(
            Fact("Error", clipped),
            Fact("Monitor", monitor.name),
            Fact("Window", f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"),
            Fact("Owner", owner_name),
        ),
        channel=channel,
    )
