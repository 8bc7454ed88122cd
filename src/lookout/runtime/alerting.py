"""The alert stage of a window: what each rule evaluates (the window's value, or a value pooled
over a lookback from stored summaries), the evaluations, the alert transitions, the drift
reports an alert links, and the messages to queue. Runs under the monitor's lock: it reads the
stored alerts and its result is committed with the window.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lookout.alerts.folding import Fold, fold_into_releases
from lookout.alerts.health import builtin_rules
from lookout.alerts.lifecycle import apply_evaluations, expired_pending, stale_transitions
from lookout.alerts.pooled import (
    History,
    longer_pools,
    rule_values,
)
from lookout.alerts.references import rule_references
from lookout.alerts.renewal import Renewal
from lookout.alerts.rules import (
    Evaluation,
    Reference,
    RuleSettings,
    evaluate_rules,
    renews_pending,
    settings_of,
    split_levels,
)
from lookout.config.models import AlertRule, Monitor
from lookout.core.cohorts import OTHER
from lookout.core.summary import Summary
from lookout.model.aggregates import FEEDBACK_RATE, MetricValue
from lookout.model.alerts import AlertState, Transition
from lookout.notify.findings import Findings
from lookout.notify.folded import FoldedFindings
from lookout.notify.queue import FOLLOW_UP_KINDS, outbox_messages
from lookout.reports.drift_reports import ensure_report
from lookout.reports.paths import report_path
from lookout.runtime.redact import redact_secrets
from lookout.runtime.scopes import MonitorScopedFindings, is_phantom, monitor_scoped, phantom_rows
from lookout.stages.drift.outcome import DriftOutcome, record
from lookout.stages.registry import STAGES
from lookout.store.history import last_seen
from lookout.store.results import OutboxMessage
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.runtime.run_context import Context

__all__ = ["AlertOutcome", "evaluate_alerts"]

log = logging.getLogger("lookout.pipeline")


@dataclass
class AlertOutcome:
    evaluations: list[Evaluation] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    supersede: list[str] = field(default_factory=list)


def _history(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    rules: Sequence[AlertRule],
    current: dict[tuple[str, str], Summary],
) -> History:
    """The stored summaries of the longest lookback a rule needs, plus this window's."""
    lookbacks: list[timedelta] = []
    for rule in rules:
        settings = settings_of(rule)
        if settings.poolable:
            over = settings.over
            lookbacks.append(settings.max_over if over == "auto" else over)
    size = window.end - window.start
    longest = max(lookbacks, default=size)
    if longest <= size:
        return History({g: [(window.start, s)] for g, s in current.items()})
    # drift verdicts pool their own period (the drift stage reads its summaries itself): no
    # rule reads the drift stage's sketches, so they are not decoded here
    stages = [entry.name for entry in STAGES if entry.name != "drift"]
    stored = ctx.store.summaries(monitor.name, window.end - longest, window.start, stages=stages)
    for group, summary in current.items():
        stored.setdefault(group, []).append((window.start, summary))
    return History(stored)


def evaluate_alerts(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    started: datetime,
    values: list[MetricValue],
    summaries: dict[tuple[str, str], Summary],
    drift: DriftOutcome,
    *,
    run_url: str | None,
    notify: bool,
    findings: Findings | None = None,
) -> AlertOutcome:
    """Every rule on this window, and what it changes: transitions and messages to queue
    (`findings`: what the stages found about an alert, and the page its message links)."""
    rules = [*monitor.rules, *builtin_rules(monitor)]
    existing = {a.fingerprint: a for a in ctx.store.alerts(monitor.name)}
    pooled = _history(ctx, monitor, window, rules, summaries)
    # NULL release fields: no alert on a phantom release (see lookout.runtime.scopes)
    history = History({g: s for g, s in pooled.windows.items() if not is_phantom(g[0])})
    scoped = monitor_scoped(values)
    evaluations: list[Evaluation] = []
    folds: dict[tuple[str, str], Fold] = {}  # (rule, release) -> cohort breaches it explains
    first_seen: dict[str, datetime] | None = None
    budget = ctx.config.monitors.alerting.split_budget
    for rule in rules:
        settings = settings_of(rule)
        mine = [a for a in existing.values() if a.rule == rule.name]
        firing = {(a.release, a.cohort) for a in mine if a.state == "firing"}
        # pending group -> start of its last breaching window (what new evidence must go beyond)
        pending = {
            (a.release, a.cohort): a.last_breach_window or a.last_window_start
            for a in mine
            if a.state == "pending"
        }
        open_groups, pooled_by = firing | set(pending), history.pooled_by(rule.metric)
        seen = rule_values(rule, settings, window, scoped, pooled_by, open_groups, firing)
        if first_seen is None and rule.reference is not None:  # one read a window, not a rule
            first_seen = ctx.store.release_first_seen(monitor.name)
        since = {
            (a.release, a.cohort): a.first_window_start
            for a in mine
            if a.state in ("pending", "firing")
        }
        references = rule_references(
            ctx.store, monitor.name, [rule], seen, window, first_seen, since
        )
        own = {(v.release, v.cohort): v for v in scoped if v.metric == rule.metric}
        levels = split_levels(rule, seen, open_groups, budget)  # a wide split shares a budget
        renewal = Renewal(settings, window, pooled_by, references, firing, pending, own, levels)
        evaluations += [
            renewal.decide(ev)
            for ev in _decided(
                rule, settings, window, pooled_by, (references, levels), seen, firing
            )
        ]
    transitions = apply_evaluations(monitor.name, existing, evaluations, window, started)
    if ctx.config.monitors.alerting.fold:
        evaluations, folds = _folded(evaluations, existing, transitions, window)
        if folds:
            transitions = apply_evaluations(monitor.name, existing, evaluations, window, started)
    transitions = _with_stale(ctx, monitor, window, started, values, existing, transitions)
    rows = phantom_rows(values)
    if rows and findings is not None:
        findings = MonitorScopedFindings(findings, rows, monitor.source.release)
    if folds:
        findings = FoldedFindings(findings, folds)
    if drift.rows:
        alerted = {
            (t.alert.release, t.alert.cohort)
            for t in transitions
            if t.opens or t.event in ("reminder", "severity_changed")
        }
        attach_reports(ctx, monitor, window, drift, alerted)
    names = {rule.name for rule in rules}
    late = _unannounced(ctx, existing, transitions, window, names) if notify else []
    announce = transitions + late
    queued = outbox_messages(ctx, monitor, announce, window, run_url, findings)
    messages = queued.messages
    if not notify:
        # a backfill of old windows pages nobody about them, but an alert that was
        # announced still gets its resolve or severity change (nothing later would)
        messages = [m for m in messages if m.kind in FOLLOW_UP_KINDS]
    return AlertOutcome(evaluations, transitions, messages, queued.supersede if notify else [])


def _folded(
    evaluations: list[Evaluation],
    existing: Mapping[str, AlertState],
    transitions: list[Transition],
    window: Window,
) -> tuple[list[Evaluation], dict[tuple[str, str], Fold]]:
    """The evaluations with cohort breaches folded into release alerts that fire after this
    window (`lookout.alerts.folding`), and the folds for their messages. An alert counts as
    firing at this window only from its first window on: a re-run of an older window folds as
    its first run did, so it cannot move a cohort alert that opened later."""

    def firing(alert: AlertState) -> bool:
        return alert.state == "firing" and alert.first_window_start <= window.start

    after = {a.fingerprint: a for a in existing.values()}
    after.update({t.alert.fingerprint: t.alert for t in transitions})
    firing_before = {(a.rule, a.release, a.cohort) for a in existing.values() if firing(a)}
    releases_firing = {(a.rule, a.release) for a in after.values() if a.cohort == "*" and firing(a)}
    return fold_into_releases(evaluations, firing_before, releases_firing)


def _unannounced(
    ctx: Context,
    existing: Mapping[str, AlertState],
    transitions: list[Transition],
    window: Window,
    rules: Collection[str],
) -> list[Transition]:
    """Firing alerts this window did not evaluate and whose opening was never queued, as
    still firing (the queue announces them once, saying since when). An alert opened in a
    catch-up's quiet windows is announced by its next evaluation in a window that pages; one
    that has none there (a dead feed's `no_data`, whose expectation the empty days wore down)
    was stored as firing, said "announced" in the run's log, and paged nobody."""
    moved = {t.alert.fingerprint for t in transitions}
    quiet = [
        alert
        for alert in existing.values()
        if alert.state == "firing"
        and alert.rule in rules  # a rule since removed from the config announces nothing
        and alert.fingerprint not in moved
        and window.start >= alert.last_window_start
    ]
    announced = ctx.store.outbox_repo.announced((a.fingerprint for a in quiet), "slack")
    return [Transition("firing", a, window) for a in quiet if a.fingerprint not in announced]


def _decided(
    rule: AlertRule,
    settings: RuleSettings,
    window: Window,
    history: History,
    judged: tuple[Mapping[tuple[str, str, str], Reference], Mapping[tuple[str, str, str], float]],
    seen: list[MetricValue],
    firing: Collection[tuple[str, str]],
) -> list[Evaluation]:
    """The rule's evaluations, an inconclusive one replaced by the first longer pool that
    breaches significantly while the look before it (its newer records) leans past the
    threshold too. Only a breach, and only for a group not firing: the longer looks are there
    to open an alert on sparse data. A long pool that is mostly the hours before an onset says
    "ok" and must not clear what this hour began, and one that is mostly the incident's own
    earlier hours says nothing about whether it still goes on: recovery is the newest
    records' to say. A breach of a long look whose newer records do not lean is the older
    records' (a tenant's 16-hour pool reopened an error alert at 23:00 on the 09:00-11:00
    incident it had resolved, its last 8 hours at 1%)."""
    references, levels = judged  # what a change rule compares with; each test's level
    out = []
    for ev in evaluate_rules([rule], seen, references, levels):
        if ev.outcome == "inconclusive" and (ev.release, ev.cohort) not in firing:
            newer = ev.value
            for longer in longer_pools(rule, settings, window, history, ev.value):
                (candidate,) = evaluate_rules([rule], [longer], references, levels) or (ev,)
                if candidate.outcome == "breach" and renews_pending(candidate, newer):
                    ev = candidate
                    break
                newer = longer
        out.append(ev)
    return out


def _with_stale(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    now: datetime,
    values: list[MetricValue],
    existing: dict[str, AlertState],
    transitions: list[Transition],
) -> list[Transition]:
    """This window's transitions, with firing alerts whose scope had no records for
    `alerting.stale_after` resolved as `stale` instead (a value pooled over a lookback may
    still breach on old records: staleness is about the newest records), and pending alerts
    with no breach for that long cleared."""
    after = {t.alert.fingerprint: t for t in transitions}
    stale_after = ctx.config.monitors.alerting.stale_after
    # pending alerts as this window left them (a breach now is a fresh one)
    pending = [
        after[a.fingerprint].alert if a.fingerprint in after else a
        for a in existing.values()
        if a.state == "pending"
    ]
    expired = expired_pending(pending, window, stale_after, now)
    if expired:
        ended = {t.alert.fingerprint for t in expired}
        transitions = [t for t in transitions if t.alert.fingerprint not in ended] + expired
    candidates = [
        alert
        for alert in existing.values()
        if alert.state == "firing"
        and (alert.fingerprint not in after or after[alert.fingerprint].alert.state == "firing")
    ]
    if not candidates:
        return transitions
    present = {(v.release, v.cohort) for v in values if v.n > 0 and v.metric != FEEDBACK_RATE}
    scopes = {(a.release, a.cohort) for a in candidates} - present
    seen = last_seen(ctx.store.engine, monitor.name, scopes, window.start)
    seen.update({group: window.start for group in present})
    stale = stale_transitions(candidates, seen, window, stale_after, now)
    if not stale:
        return transitions
    notify = {rule.name: rule.notify_resolved for rule in [*monitor.rules, *builtin_rules(monitor)]}
    ended = {t.alert.fingerprint for t in stale}
    for transition in stale:
        log.info(
            "alert %s %s %s: resolved as stale (%s)",
            transition.alert.rule,
            transition.alert.release,
            transition.alert.cohort,
            transition.note,
        )
    return [t for t in transitions if t.alert.fingerprint not in ended] + [
        replace(t, notify_resolved=notify.get(t.alert.rule, True)) for t in stale
    ]


def attach_reports(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    drift: DriftOutcome,
    alerted: set[tuple[str, str]],
) -> None:
    """Write the day's report of each drifted release, and of each drifted cohort an alert
    is about (Evidently costs ~1 s a report: not one per drifted cohort every hour), on the
    period this window's verdicts pooled; link reports that exist. A drift a cohort explains
    does not count (its source's report is the one to read). A report that cannot be written
    is logged, not fatal.
    """
    drifted = drift.drifted_groups()
    wanted = {(release, "*") for release, _ in drifted} | {
        # a pooled `(other)` cohort has no report of its own: its release's report stands in
        group
        for group in set(drifted) & alerted
        if not group[1].endswith(f"={OTHER}")
    }
    if monitor.drift.reports.enabled and drift.period is not None:
        for release, cohort in sorted(wanted):
            try:
                ensure_report(
                    ctx.warehouse,
                    monitor,
                    ctx.out_dir,
                    window,
                    release,
                    drift.release_values[release],
                    cohort,
                    drift.references[release],
                    [record(r) for r in drift.rows if (r.release, r.cohort) == (release, cohort)],
                    drift.period,
                )
            except Exception as exc:
                log.warning(
                    "drift report of %s %s %s failed: %s",
                    monitor.name,
                    release,
                    cohort,
                    redact_secrets(repr(exc), ctx.config),
                )
    day = window.start.date()
    linked = []
    for row in drift.rows:
        path = report_path(monitor.name, day, row.release, row.cohort)
        linked.append(replace(row, report_path=path) if (ctx.out_dir / path).exists() else row)
    drift.rows = linked
