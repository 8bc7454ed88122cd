"""`run_window(monitor, window)`: the stages of one window, in order, as a plain function.

check -> stages (ops, validate, drift, evaluate: `lookout.stages.registry`) -> alerts (rules on
the window's values or pooled summaries, transitions, messages) -> one commit (results,
summaries, validations, quarantine, drift, alerts, outbox, watermark). Nothing is written
before the commit, so a crash at any stage leaves the store as it was. Orchestrators (Prefect
flows, the CLI, tests) call this; it knows nothing about them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from lookout.config.models import Monitor
from lookout.core.summary import Summary
from lookout.errors import LookoutError, is_permanent
from lookout.model.aggregates import MetricValue
from lookout.model.families.registry import FAMILIES
from lookout.notify.queue import failure_id, failure_messages
from lookout.runtime.alerting import AlertOutcome, evaluate_alerts
from lookout.runtime.health_values import health_values
from lookout.runtime.pages import WindowPages
from lookout.runtime.redact import redact_secrets
from lookout.runtime.run_context import Context
from lookout.stages.base import WindowRun
from lookout.stages.drift.outcome import DriftOutcome
from lookout.stages.ops.stage import metric_settings
from lookout.stages.registry import STAGES
from lookout.store.results import WindowCommit
from lookout.windows import Window, check_as_of, complete_windows, floor_time

__all__ = [
    "Context",
    "RunResult",
    "Stage",
    "metric_settings",
    "plan_windows",
    "redact_secrets",
    "run_window",
]

log = logging.getLogger("lookout.pipeline")

MetricPath = Literal["pushdown", "pandas"]


class Stage(StrEnum):
    """The stages a backfill may choose; reading, ops metrics and alerts always run."""

    validate = "validate"
    drift = "drift"
    evaluate = "evaluate"


_OPTIONAL = frozenset(s.value for s in Stage)


@dataclass(frozen=True)
class RunResult:
    """What one window run did: numbers for summaries, artifacts and tests."""

    run_id: str
    monitor: str
    window: Window
    status: Literal["succeeded", "failed"]
    rows: int = 0
    metric_path: MetricPath | None = None
    metrics: int = 0
    releases: tuple[str, ...] = ()
    alerts_opened: tuple[str, ...] = ()
    alerts_resolved: tuple[str, ...] = ()
    messages_queued: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    failed_expectations: int = 0  # failed or errored: a check that could not run is not a pass
    errored_expectations: int = 0  # of those, the ones that raised (status `error`)
    judged: int = 0  # new judgments (any status) by the evaluator stage
    judge_cached: int = 0  # judgments reused from the store
    judge_errors: int = 0
    judge_cost_usd: float = 0.0
    judge_budget_exhausted: str | None = None  # which cap stopped judging, if one did
    drifted: tuple[str, ...] = ()  # "release cohort column" of every drifted column
    reports: tuple[str, ...] = ()  # report paths written or linked by this window
    validation_path: str | None = None
    flag: str | None = None
    frontier: datetime | None = None
    seconds: float = 0.0
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    permanent: bool = False  # failed for a reason no retry fixes (`errors.is_permanent`)


def initial_frontier(monitor: Monitor, as_of: datetime) -> datetime:
    if monitor.window.start is not None:
        return floor_time(monitor.window.start, monitor.window.size)
    return floor_time(as_of - timedelta(days=1), monitor.window.size)


def plan_windows(
    ctx: Context, monitor: Monitor, as_of: datetime, *, now: datetime | None = None
) -> list[Window]:
    """Complete windows since the watermark, plus processed windows that got late rows.

    An `as_of` later than the real clock (`now`) is refused; no window ending after `now`
    is ever planned (it has not finished happening)."""
    now = now or datetime.now(UTC)
    try:
        as_of = check_as_of(as_of, now)
    except ValueError as exc:
        raise LookoutError(f"monitor {monitor.name}: {exc}") from None
    as_of = min(as_of, now)
    size, grace = monitor.window.size, monitor.window.grace
    frontier = ctx.store.watermark(monitor.name) or initial_frontier(monitor, as_of)
    processed = ctx.store.processed_windows(monitor.name, frontier - monitor.window.late_lookback)
    fresh = [w for w in complete_windows(frontier, as_of, size, grace) if w not in processed]
    before_frontier = {w: seen for w, seen in processed.items() if w.end <= frontier}
    late = ctx.warehouse.late_windows(monitor, before_frontier, frontier)
    return sorted(set(fresh) | late)


def _stage_entries(monitor: Monitor, chosen: set[Stage]) -> tuple[list, list[str]]:
    """(stages to run, in order; names of enabled stages not re-run, whose stored results
    still count)."""
    run, kept = [], []
    for entry in STAGES:
        stage = entry.load()
        if not stage.enabled(monitor):
            continue
        if entry.name in _OPTIONAL and Stage(entry.name) not in chosen:
            kept.append(entry.name)
        else:
            run.append(stage)
    return run, kept


def run_window(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    *,
    as_of: datetime | None = None,
    flow_run_id: str | None = None,
    run_url: str | None = None,
    stages: Collection[Stage] | None = None,
    notify: bool = True,
    final_attempt: bool = True,
    first_attempt_at: datetime | None = None,
) -> RunResult:
    """Run every stage on one window and commit the results; failures are recorded, not raised.

    `run_url` (the orchestrator's page for this run) is linked from alert messages. `stages`
    (default: all) re-runs only those optional stages; the others' stored results are kept and
    their metrics still feed the alert rules. `notify=False` (a backfill of old windows) stores
    alert state without announcing it (an alert still firing later is announced then); the
    resolve or severity change of an alert that was announced is still sent.

    Only a failure that stands pages the owner: not one the orchestrator will retry
    (`final_attempt=False`), nor one whose window was stored since `first_attempt_at` (the
    first try of this window; default: this run's start) by another process. A commit
    withdraws the window's failure notice that is still pending.
    """
    chosen = set(Stage) if stages is None else {Stage(s) for s in stages}
    run_id, started, clock = uuid.uuid4().hex, datetime.now(UTC), time.perf_counter()
    run = WindowRun(ctx, monitor, window, started)
    seconds: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        if ctx.before_stage is not None:
            ctx.before_stage(name)
        begun = time.perf_counter()
        result = work()
        seconds[name] = time.perf_counter() - begun
        return result

    try:
        timed("check", lambda: _check(ctx, monitor, window, started))
        to_run, kept = _stage_entries(monitor, chosen)
        with ctx.warehouse.holding_release_values():  # one query for every stage's need
            for stage in to_run:
                run.outcomes[stage.name] = timed(stage.name, lambda s=stage: s.run(run))
        ops = run.outcomes["ops"]
        values = [v for outcome in run.outcomes.values() for v in outcome.metrics]
        for name in kept:  # not re-run: the stored results still count
            values += ctx.store.window_metrics(monitor.name, window, FAMILIES.of_stage(name))
        values += health_values(ctx, monitor, window, ops.stats["rows"])
        summaries = _window_summaries(run)
        drift = run.outcomes["drift"].detail if "drift" in run.outcomes else DriftOutcome()
        pages = WindowPages(ctx, monitor, window, run.outcomes, values, kept)
        with ctx.store.monitor_lock(monitor.name):  # alert state: one writer
            alerting = timed(
                "alerts",
                lambda: evaluate_alerts(
                    ctx,
                    monitor,
                    window,
                    started,
                    values,
                    summaries,
                    drift,
                    run_url=run_url,
                    notify=notify,
                    findings=pages,
                ),
            )
            commit = _commit(run, run_id, values, alerting, kept, as_of, flow_run_id)
            frontier = timed("commit", lambda: ctx.store.commit_window(commit))
    except Exception as exc:
        since = first_attempt_at or started
        failure = _Failure(run_id, started, clock, flow_run_id, final_attempt, since)
        return _failed(ctx, monitor, window, failure, exc)
    return _result(run, run_id, values, alerting, frontier, clock, seconds)


def _check(ctx: Context, monitor: Monitor, window: Window, now: datetime) -> None:
    if window.end > now:
        raise LookoutError(
            f"window {window.label} ends after now ({now:%Y-%m-%d %H:%M} UTC): it has "
            "not finished happening, and processing it would move the watermark past rows "
            "that have not arrived yet"
        )
    names = [m.name for m in ctx.config.monitors.monitors]
    index = names.index(monitor.name) if monitor.name in names else None
    ctx.warehouse.check_monitor(monitor, index)  # names the monitors.yml key of a bad column


def _window_summaries(run: WindowRun) -> dict[tuple[str, str], Summary]:
    """Per release x cohort, every stage's summary of this window merged into one."""
    out: dict[tuple[str, str], Summary] = {}
    for outcome in run.outcomes.values():
        for group, summary in outcome.summaries.items():
            if group in out:
                out[group].merge(summary, same_window=True)
            else:  # the window's own count (0 for a group's votes alone: `votes_only`)
                out[group] = Summary(windows=summary.windows).merge(summary, same_window=True)
    return out


def _commit(
    run: WindowRun,
    run_id: str,
    values: list[MetricValue],
    alerting: AlertOutcome,
    kept: list[str],
    as_of: datetime | None,
    flow_run_id: str | None,
) -> WindowCommit:
    outcomes = run.outcomes
    ops = outcomes["ops"]
    validation = outcomes["validate"].writes if "validate" in outcomes else {}
    return WindowCommit(
        run_id=run_id,
        monitor=run.monitor.name,
        window=run.window,
        started_at=run.started,
        finished_at=datetime.now(UTC),
        rows_read=ops.stats["rows"],
        metric_path=ops.stats["metric_path"],
        metrics=values,
        initial_frontier=initial_frontier(run.monitor, as_of or run.window.end),
        max_ingested_at=ops.stats["max_ingested"],
        transitions=alerting.transitions,
        messages=alerting.messages,
        flow_run_id=flow_run_id,
        validations=validation.get("validations", ()),
        quarantine=validation.get("quarantine", {}),
        flag=validation.get("flag"),
        # the drift rows as the alert stage left them (linked to the reports it wrote)
        drift=outcomes["drift"].detail.rows if "drift" in outcomes else (),
        supersede=alerting.supersede,
        withdraw=(failure_id(run.monitor, run.window),),
        keep=frozenset({"validate": "validation", "drift": "drift"}.get(k, k) for k in kept),
        summaries={
            (name, release, cohort): summary
            for name, outcome in outcomes.items()
            for (release, cohort), summary in outcome.summaries.items()
        },
        stages_run=frozenset(outcomes),
    )


@dataclass(frozen=True)
class _Failure:
    run_id: str
    started: datetime
    clock: float
    flow_run_id: str | None
    final_attempt: bool
    since: datetime  # the first try of this window


def _failed(
    ctx: Context, monitor: Monitor, window: Window, failure: _Failure, exc: Exception
) -> RunResult:
    """Record the failure; page the owner only for a failure that stands (the last try or one
    no retry fixes, and no other run stored the window since the first)."""
    error = f"{type(exc).__name__}: {exc}" if isinstance(exc, LookoutError) else repr(exc)
    error = redact_secrets(error, ctx.config)
    permanent = is_permanent(exc)
    stands = failure.final_attempt or permanent
    # a try that is retried is a warning: only the last one says "failed"
    level = logging.ERROR if stands else logging.WARNING
    said = "failed" if stands else "failed, trying once more"
    log.log(level, "monitor %s window %s %s: %s", monitor.name, window.label, said, error)
    try:
        ctx.store.record_failure(
            failure.run_id, monitor.name, window, failure.started, error, failure.flow_run_id
        )
        notices = (
            failure_messages(ctx, monitor, window, error)
            if monitor.health.notify_failures and stands
            else []
        )
        queued = notices and ctx.store.enqueue_failure(monitor.name, window, failure.since, notices)
        if queued == "stored":
            log.info(
                "monitor %s window %s: stored by another run since %s; not paged",
                monitor.name,
                window.label,
                failure.since.isoformat(),
            )
        elif queued == "repeat":
            log.info(
                "monitor %s window %s: the same error was paged within a day; not paged again",
                monitor.name,
                window.label,
            )
    except Exception:  # the store itself may be what failed
        log.exception("could not record the failed run of %s %s", monitor.name, window.label)
    return RunResult(
        failure.run_id,
        monitor.name,
        window,
        "failed",
        error=error,
        seconds=time.perf_counter() - failure.clock,
        permanent=permanent,
    )


def _result(
    run: WindowRun,
    run_id: str,
    values: list[MetricValue],
    alerting: AlertOutcome,
    frontier: datetime,
    clock: float,
    seconds: dict[str, float],
) -> RunResult:
    stats: dict[str, Any] = {}
    for outcome in run.outcomes.values():
        stats.update(outcome.stats)
    transitions = alerting.transitions
    drift = run.outcomes["drift"].detail if "drift" in run.outcomes else DriftOutcome()
    return RunResult(
        run_id=run_id,
        monitor=run.monitor.name,
        window=run.window,
        status="succeeded",
        rows=stats["rows"],
        metric_path=stats["metric_path"],
        metrics=len(values),
        releases=tuple(sorted({v.release for v in values})),
        alerts_opened=tuple(t.alert.fingerprint for t in transitions if t.opens),
        alerts_resolved=tuple(
            t.alert.fingerprint for t in transitions if t.event in ("resolved", "stale")
        ),
        messages_queued=len(alerting.messages),
        quarantined=stats.get("quarantined", 0),
        quarantine_reasons=stats.get("quarantine_reasons", {}),
        failed_expectations=stats.get("failed_expectations", 0),
        errored_expectations=stats.get("errored_expectations", 0),
        validation_path=stats.get("validation_path", "off"),
        flag=stats.get("flag"),
        judged=stats.get("judged", 0),
        judge_cached=stats.get("judge_cached", 0),
        judge_errors=stats.get("judge_errors", 0),
        judge_cost_usd=stats.get("judge_cost_usd", 0.0),
        judge_budget_exhausted=stats.get("judge_budget_exhausted"),
        drifted=stats.get("drifted", ()),
        reports=tuple(sorted({r.report_path for r in drift.rows if r.report_path})),
        frontier=frontier,
        seconds=time.perf_counter() - clock,
        stage_seconds=seconds,
    )
