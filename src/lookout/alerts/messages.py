"""A neutral alert message, built from an alert by one builder with a fixed section order.

Presentation-free: the Block Kit formatter and any later channel (email, PagerDuty) render it.
Values that come from logged data (release names, cohort values) are kept raw here and escaped
by each formatter for its own syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lookout.alerts.lifecycle import AlertState
from lookout.checks.catalog import describe_metric, is_rate_metric
from lookout.config.models import Owner
from lookout.windows import Window

__all__ = ["AlertMessage", "Fact", "Link", "build_alert_message", "format_value"]

_SEVERITY_WORD = {"P0": "critical", "P1": "high", "P2": "low"}


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class AlertMessage:
    """Everything a human needs on one alert, in the order it is shown."""

    message_id: str
    title: str
    severity: str
    summary: str
    owner_name: str
    mentions: tuple[str, ...]
    channel: str | None
    facts: tuple[Fact, ...] = ()
    links: tuple[Link, ...] = field(default_factory=tuple)


def format_value(metric: str, value: float) -> str:
    """Rates as percentages, times in ms, money in USD, counts as integers."""
    if is_rate_metric(metric) or metric.startswith("validation.") or metric == "drift_share":
        return f"{value:.2%}"
    if metric.startswith("drift."):
        return "drifted" if value >= 1 else "no drift"
    if metric.startswith("drift_score."):
        return f"{value:.3g}"
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric.endswith("_usd"):
        return f"${value:,.5f}"
    if metric in ("request_count", "validation_failed_expectations"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _mentions(owner: Owner) -> tuple[str, ...]:
    users = tuple(f"<@{user}>" for user in owner.slack_users)
    group = (f"<!subteam^{owner.slack_group}>",) if owner.slack_group else ()
    return users + group


def _runbook(alert: AlertState, owner: Owner) -> str | None:
    if alert.runbook:
        return alert.runbook
    if owner.runbook_base:
        return owner.runbook_base.rstrip("/") + "/" + alert.rule
    return None


def build_alert_message(
    message_id: str,
    alert: AlertState,
    window: Window,
    owner: Owner,
    *,
    default_channel: str | None = None,
    report_url: str | None = None,
    run_url: str | None = None,
    detail: str | None = None,
    reminder: bool = False,
    previous_severity: str | None = None,
) -> AlertMessage:
    """Alert -> message: header, summary, facts (numbers, cohort, release, window), links.

    `detail` is what the stage that produced the metric adds (for a drifted column: the method,
    score, threshold, reference and both sample sizes).
    """
    metric_text = describe_metric(alert.metric)
    value = format_value(alert.metric, alert.value)
    threshold = format_value(alert.metric, alert.threshold)
    cohort = "all traffic" if alert.cohort == "*" else alert.cohort
    flag = alert.metric.startswith("drift.")
    resolved = alert.state == "resolved"
    if resolved:
        shown = "no longer drifted" if flag else f"{value} (alerted at {alert.op} {threshold})"
    else:
        shown = value if flag else f"{value} {alert.op} {threshold}"
    shown += f" (n={alert.n:,})"
    facts = (
        Fact("Value", shown),
        Fact("Metric", f"{alert.metric} ({metric_text})"),
        Fact("Release", alert.release),
        Fact("Cohort", cohort),
        Fact("Window", f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"),
        Fact("Monitor", alert.monitor),
        Fact("Owner", alert.owner),
        Fact("Severity", f"{alert.severity} ({_SEVERITY_WORD.get(alert.severity, '')})"),
    )
    if alert.reference is not None:
        reference = format_value(alert.metric, alert.reference)
        facts += (Fact("Reference", f"{reference} ({alert.reference_label})"),)
    if resolved:
        facts += (Fact("Firing since", f"{alert.first_window_start:%Y-%m-%d %H:%M} UTC"),)
    if detail:
        facts += (Fact("Detail", detail),)
    links = []
    runbook = _runbook(alert, owner)
    if runbook:
        links.append(Link("Runbook", runbook))
    if report_url:
        links.append(Link("Report", report_url))
    if run_url:
        links.append(Link("Run", run_url))
    if resolved:
        title = f"[RESOLVED] [{alert.severity}] {alert.monitor}: {alert.metric} back to {value}"
        summary = f"resolved: {alert.metric} is back to {value} for release {alert.release}, "
        summary += cohort
        if flag:
            title = f"[RESOLVED] [{alert.severity}] {alert.monitor}: {alert.metric} no drift"
    elif previous_severity is not None:
        moved = "escalated" if alert.severity < previous_severity else "de-escalated"
        title = (
            f"[{alert.severity}] {alert.monitor}: {alert.metric} {moved} from "
            f"{previous_severity} ({value} {alert.op} {threshold})"
        )
        summary = (
            f"{moved} from {previous_severity} to {alert.severity}: {alert.metric} is {value} "
            f"for release {alert.release}, {cohort}"
        )
    elif reminder:
        title = f"[REMINDER] [{alert.severity}] {alert.monitor}: {alert.metric} still {value}"
        summary = (
            f"still firing since {alert.first_window_start:%Y-%m-%d %H:%M} UTC: {alert.metric} "
            f"is {value} for release {alert.release}, {cohort}"
        )
    elif flag:
        title = f"[{alert.severity}] {alert.monitor}: {alert.metric.removeprefix('drift.')} {value}"
        summary = f"{alert.metric} is {value} for release {alert.release}, {cohort}"
    else:
        title = f"[{alert.severity}] {alert.monitor}: {alert.metric} {alert.op} {threshold}"
        summary = f"{alert.metric} is {value} for release {alert.release}, {cohort}"
    return AlertMessage(
        message_id=message_id,
        title=title,
        severity="resolved" if resolved else alert.severity,
        summary=summary,
        owner_name=alert.owner,
        mentions=_mentions(owner),
        channel=owner.channel or default_channel,
        facts=facts,
        links=tuple(links),
    )
