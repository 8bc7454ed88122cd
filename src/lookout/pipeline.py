"""`run_window(monitor, window)`: the stages of one window, in order, as a plain function.

check -> validate (GX) -> read -> ops metrics -> alert rules -> one commit (results,
validations, quarantine, alerts, outbox, watermark).
Nothing is written before the commit, so a crash at any stage leaves the store as it was.
Orchestrators (Prefect flows, the CLI, tests) call this; it knows nothing about them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url

from lookout.alerts.blockkit import to_block_kit, to_group_block_kit
from lookout.alerts.digest import held_for_digest
from lookout.alerts.health import WINDOW_ROWS, builtin_rules, failure_message
from lookout.alerts.lifecycle import AlertState, Transition, apply_evaluations
from lookout.alerts.messages import AlertMessage, build_alert_message
from lookout.alerts.references import rule_references
from lookout.alerts.rules import evaluate_rules
from lookout.alerts.silences import Silence, active_silence, inhibited
from lookout.checks.drift.stage import DriftOutcome, run_drift
from lookout.checks.evaluators.base import Budget
from lookout.checks.evaluators.registry import ConfiguredEvaluator, build_evaluators
from lookout.checks.evaluators.stage import EvalOutcome, run_evaluators
from lookout.checks.metrics import (
    ALL_COHORTS,
    MetricSettings,
    MetricValue,
    aggregate_frame,
    metrics_from_aggregates,
)
from lookout.checks.validation.runner import GxRunner
from lookout.checks.validation.stage import (
    PlannedExpectation,
    ValidationResult,
    plan_suite,
    run_validation,
)
from lookout.config.loader import LookoutConfig
from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.reports.drift_reports import ensure_report
from lookout.reports.paths import report_path, report_url
from lookout.sources.warehouse import Warehouse, metric_fields
from lookout.store.drift_rows import DriftRow
from lookout.store.results import OutboxMessage, ResultsStore, WindowCommit
from lookout.windows import Window, complete_windows, floor_time

__all__ = [
    "Context",
    "RunResult",
    "Stage",
    "metric_settings",
    "plan_windows",
    "run_window",
]

log = logging.getLogger("lookout.pipeline")

MetricPath = Literal["pushdown", "pandas"]


class Stage(StrEnum):
    """The stages a backfill may choose; reading, ops metrics and alerts always run."""

    validate = "validate"
    drift = "drift"
    evaluate = "evaluate"


def _stage_family(stage: Stage) -> Callable[[str], bool]:
    """Which stored metric names a stage produces (kept as they are when it is not re-run)."""
    if stage is Stage.validate:
        return lambda name: name.startswith("validation") or name == "quarantine_rate"
    if stage is Stage.drift:
        return lambda name: name == "drift_share" or name.startswith(("drift.", "drift_score."))
    return lambda name: name.startswith("eval")


@dataclass
class Context:
    """The adapters a run needs, built once per process from the active profile target."""

    config: LookoutConfig
    warehouse: Warehouse
    store: ResultsStore
    out_dir: Path
    # Test seam: called with a stage name before that stage runs (crash injection).
    before_stage: Callable[[str], None] | None = None
    # Awaited before each LLM judge request: a limit shared across processes (set by flows).
    judge_throttle: Callable[[], Awaitable[None]] | None = None
    _suites: dict[str, list[PlannedExpectation]] = field(default_factory=dict)
    _gx: GxRunner | None = None
    _evaluators: dict[str, list[ConfiguredEvaluator]] = field(default_factory=dict)
    _budgets: dict[str, Budget] = field(default_factory=dict)
    # Windows may run in threads (a backfill's fan-out): GX and the judge budget are shared
    # state, so their stages take turns; reading, metrics and drift run side by side.
    _serial: threading.Lock = field(default_factory=threading.Lock)

    def evaluators(self, monitor: Monitor) -> list[ConfiguredEvaluator]:
        """The monitor's evaluators, built once per context (LLM judges share one client)."""
        if monitor.name not in self._evaluators:
            self._evaluators[monitor.name] = build_evaluators(
                monitor, self.config.target.judge, self.judge_throttle
            )
        return self._evaluators[monitor.name]

    def judge_budget(self, monitor: Monitor) -> Budget:
        """One budget per monitor for the life of the context (one flow run)."""
        if monitor.name not in self._budgets:
            cap = monitor.evaluators.budget
            self._budgets[monitor.name] = Budget(cap.max_judgments, cap.max_usd)
        return self._budgets[monitor.name]

    def suite(self, monitor: Monitor) -> list[PlannedExpectation]:
        """The monitor's planned expectations, built once per context."""
        if monitor.name not in self._suites:
            self._suites[monitor.name] = plan_suite(monitor, self.config.monitors_dir)
        return self._suites[monitor.name]

    @property
    def gx(self) -> GxRunner:
        if self._gx is None:
            self._gx = GxRunner(self.warehouse.settings)  # opens the warehouse the same way
        return self._gx

    @classmethod
    def from_config(cls, config: LookoutConfig) -> Context:
        target = config.target
        return cls(
            config=config,
            warehouse=Warehouse.from_target(target.warehouse),
            store=ResultsStore.from_target(target.store),
            out_dir=Path(target.out_dir),
        )

    def release_warehouse(self) -> None:
        """Close every warehouse connection (the reader's and GX's); the next stage reopens.
        DuckDB allows one configuration of a file per process: a writer in this process (a
        test, a notebook) needs the read-only reader gone first."""
        if self._gx is not None:
            self._gx.close()
            self._gx = None
        self.warehouse.dispose()

    def close(self) -> None:
        self.release_warehouse()
        self.store.dispose()


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
    failed_expectations: int = 0
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


def metric_settings(monitor: Monitor) -> MetricSettings:
    return MetricSettings(
        ok_statuses=tuple(monitor.source.ok_statuses),
        negative_feedback=tuple(monitor.source.negative_feedback),
        prices={m: (p.input_per_1m, p.output_per_1m) for m, p in monitor.metrics.prices.items()},
    )


def initial_frontier(monitor: Monitor, as_of: datetime) -> datetime:
    if monitor.window.start is not None:
        return floor_time(monitor.window.start, monitor.window.size)
    return floor_time(as_of - timedelta(days=1), monitor.window.size)


def plan_windows(ctx: Context, monitor: Monitor, as_of: datetime) -> list[Window]:
    """Complete windows since the watermark, plus processed windows that got late rows."""
    size, grace = monitor.window.size, monitor.window.grace
    frontier = ctx.store.watermark(monitor.name) or initial_frontier(monitor, as_of)
    processed = ctx.store.processed_windows(monitor.name, frontier - monitor.window.late_lookback)
    fresh = [w for w in complete_windows(frontier, as_of, size, grace) if w not in processed]
    before_frontier = {w: seen for w, seen in processed.items() if w.end <= frontier}
    late = ctx.warehouse.late_windows(monitor, before_frontier, frontier)
    return sorted(set(fresh) | late)


def redact_secrets(text: str, config: LookoutConfig) -> str:
    """Errors are stored and logged: any secret of the target that shows up becomes ***."""
    target = config.target
    secrets = [
        make_url(target.warehouse.url.get_secret_value()).password,
        make_url(target.store.url.get_secret_value()).password,
        *(
            s.get_secret_value() if s else None
            for s in (target.slack.bot_token, target.slack.webhook_url, target.judge.api_key)
        ),
    ]
    for secret in secrets:
        if secret:
            text = text.replace(str(secret), "***")
    return text


def _use_pushdown(monitor: Monitor, warehouse: Warehouse) -> bool:
    """`auto` pushes down on DuckDB only: measured faster there, slower on PostgreSQL/SQLite."""
    mode = monitor.metrics.pushdown
    if mode == "on" and not warehouse.supports_pushdown:
        raise LookoutError(
            f"monitor {monitor.name}: metrics.pushdown is on, "
            f"but {warehouse.dialect} has no percentile_cont"
        )
    if mode == "auto":
        return warehouse.dialect == "duckdb"
    return mode == "on"


def _message_id(fingerprint: str, event: str, window: Window) -> str:
    key = f"{fingerprint}|{event}|{window.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _outbox_messages(
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
        message_id = _message_id(alert.fingerprint, transition.event, window)
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
                    message_id=_message_id(alert.fingerprint, "update", window),
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
_FOLLOW_UP_KINDS = ("alert_resolved", "alert_update", "alert_severity_changed")


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


def _failure_id(monitor: Monitor, window: Window) -> str:
    return _message_id(f"{monitor.name}|failure", "failed", window)


def _failure_messages(
    ctx: Context, monitor: Monitor, window: Window, error: str
) -> list[OutboxMessage]:
    """One message per failed window to the monitor's owner (stable id: never twice)."""
    owner_name = monitor.health_owner
    if owner_name is None:
        return []
    owner = ctx.config.monitors.owners[owner_name]
    message_id = _failure_id(monitor, window)
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


def _attach_reports(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    drift: DriftOutcome,
    alerted: set[tuple[str, str]],
) -> None:
    """Write the day's report of each drifted release, and of each drifted cohort an alert
    is about (Evidently costs ~1 s a report: not one per drifted cohort every hour); link
    reports that exist. A report that cannot be written is logged, not fatal.
    """
    drifted = drift.drifted_groups()
    wanted = {(release, "*") for release, _ in drifted} | (set(drifted) & alerted)
    if monitor.drift.reports.enabled:
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
    kept = [
        stage
        for stage, enabled in (
            (Stage.validate, monitor.validation.enabled),
            (Stage.drift, monitor.drift.enabled),
            (Stage.evaluate, monitor.evaluators.enabled and bool(monitor.evaluators.checks)),
        )
        if enabled and stage not in chosen
    ]
    run_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    clock = time.perf_counter()
    stage_seconds: dict[str, float] = {}

    def stage(name: str) -> None:
        if ctx.before_stage is not None:
            ctx.before_stage(name)
        stage_seconds[name] = time.perf_counter()

    def done(name: str) -> None:
        stage_seconds[name] = time.perf_counter() - stage_seconds[name]

    try:
        settings = metric_settings(monitor)
        stage("check")
        names = [m.name for m in ctx.config.monitors.monitors]
        index = names.index(monitor.name) if monitor.name in names else None
        ctx.warehouse.check_monitor(monitor, index)  # names the monitors.yml key of a bad column
        done("check")

        validation = ValidationResult.skipped()
        if monitor.validation.enabled and Stage.validate in chosen:
            stage("validate")
            with ctx._serial:
                validation = run_validation(
                    ctx.warehouse,
                    monitor,
                    window,
                    planned=ctx.suite(monitor),
                    runner=ctx.gx,
                    connection_string=ctx.config.target.warehouse.url.get_secret_value(),
                )
            done("validate")

        stage("read")
        pushdown = _use_pushdown(monitor, ctx.warehouse)
        if pushdown:
            aggregates = ctx.warehouse.aggregate_window(monitor, window, settings)
            rows = sum(a.n for a in aggregates if a.cohort == "*")
            max_ingested = ctx.warehouse.max_ingested_in(monitor, window)
        else:
            frame = ctx.warehouse.read_window(monitor, window, metric_fields(monitor.source))
            rows = len(frame)
            max_ingested = ctx.warehouse.max_ingested(frame)
        done("read")

        stage("metrics")
        if not pushdown:
            aggregates = aggregate_frame(
                frame, monitor.source.release, monitor.source.cohorts, settings
            )
        values: list[MetricValue] = metrics_from_aggregates(aggregates) + validation.metrics()
        done("metrics")

        drift = DriftOutcome()
        if monitor.drift.enabled and Stage.drift in chosen:
            stage("drift")
            drift = run_drift(ctx.warehouse, ctx.store, monitor, window, started)
            values += drift.metrics
            done("drift")

        evaluated = EvalOutcome()
        if monitor.evaluators.enabled and monitor.evaluators.checks and Stage.evaluate in chosen:
            stage("evaluate")
            excluded = (
                validation.quarantined
                if Stage.validate in chosen
                else ctx.store.quarantined_ids(monitor.name, window)
            )
            with ctx._serial:
                evaluated = run_evaluators(
                    ctx.warehouse,
                    ctx.store,
                    monitor,
                    window,
                    ctx.evaluators(monitor),
                    ctx.judge_budget(monitor),
                    started,
                    exclude=excluded,
                )
            values += evaluated.metrics
            done("evaluate")
            if evaluated.budget_exhausted:
                log.warning(
                    "monitor %s window %s: judge budget reached (%s); the rest was not judged",
                    monitor.name,
                    window.label,
                    evaluated.budget_exhausted,
                )

        for stage_kept in kept:  # not re-run: the stored results still count
            values += ctx.store.window_metrics(monitor.name, window, _stage_family(stage_kept))
        with ctx.store.monitor_lock(monitor.name):  # alert state: one writer
            stage("alerts")
            values.append(MetricValue(ALL_COHORTS, ALL_COHORTS, WINDOW_ROWS, float(rows), 1))
            rules = [*monitor.rules, *builtin_rules(monitor)]
            references = rule_references(ctx.store, monitor.name, rules, values, window)
            evaluations = evaluate_rules(rules, values, references)
            existing = {a.fingerprint: a for a in ctx.store.alerts(monitor.name)}
            transitions = apply_evaluations(monitor.name, existing, evaluations, window, started)
            done("alerts")
            if drift.rows:
                stage("reports")
                alerted = {
                    (t.alert.release, t.alert.cohort)
                    for t in transitions
                    if t.opens or t.event in ("reminder", "severity_changed")
                }
                _attach_reports(ctx, monitor, window, drift, alerted)
                done("reports")
            report_urls = {
                (row.release, row.cohort): url
                for row in drift.rows
                if (
                    url := report_url(
                        row.report_path, ctx.out_dir, ctx.config.target.report_base_url
                    )
                )
            }
            messages, regroup = _outbox_messages(
                ctx, monitor, transitions, window, run_url, report_urls, drift.rows
            )
            if not notify:
                # a backfill of old windows pages nobody about them, but an alert that was
                # announced still gets its resolve or severity change (nothing later would)
                messages = [m for m in messages if m.kind in _FOLLOW_UP_KINDS]

            stage("commit")
            finished = datetime.now(UTC)
            frontier = ctx.store.commit_window(
                WindowCommit(
                    run_id=run_id,
                    monitor=monitor.name,
                    window=window,
                    started_at=started,
                    finished_at=finished,
                    rows_read=rows,
                    metric_path="pushdown" if pushdown else "pandas",
                    metrics=values,
                    initial_frontier=initial_frontier(monitor, as_of or window.end),
                    max_ingested_at=max_ingested,
                    transitions=transitions,
                    messages=messages,
                    flow_run_id=flow_run_id,
                    validations=validation.outcomes,
                    quarantine=validation.quarantine_records(),
                    flag=validation.flag,
                    drift=drift.rows,
                    regroup=regroup if notify else {},
                    withdraw=(_failure_id(monitor, window),),
                    keep=frozenset(
                        name
                        for name, kept_stage in (
                            ("validation", Stage.validate),
                            ("drift", Stage.drift),
                        )
                        if kept_stage in kept
                    ),
                )
            )
            done("commit")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}" if isinstance(exc, LookoutError) else repr(exc)
        error = redact_secrets(error, ctx.config)
        log.error("monitor %s window %s failed: %s", monitor.name, window.label, error)
        try:
            ctx.store.record_failure(run_id, monitor.name, window, started, error, flow_run_id)
            notices = (
                _failure_messages(ctx, monitor, window, error)
                if monitor.health.notify_failures and final_attempt
                else []
            )
            if notices:
                since = first_attempt_at or started
                if not ctx.store.enqueue_failure(monitor.name, window, since, notices):
                    log.info(
                        "monitor %s window %s: stored by another run since %s; not paged",
                        monitor.name,
                        window.label,
                        since.isoformat(),
                    )
        except Exception:  # the store itself may be what failed
            log.exception("could not record the failed run of %s %s", monitor.name, window.label)
        return RunResult(
            run_id,
            monitor.name,
            window,
            "failed",
            error=error,
            seconds=time.perf_counter() - clock,
        )
    return RunResult(
        run_id=run_id,
        monitor=monitor.name,
        window=window,
        status="succeeded",
        rows=rows,
        metric_path="pushdown" if pushdown else "pandas",
        metrics=len(values),
        releases=tuple(sorted({v.release for v in values})),
        alerts_opened=tuple(t.alert.fingerprint for t in transitions if t.opens),
        alerts_resolved=tuple(t.alert.fingerprint for t in transitions if t.event == "resolved"),
        messages_queued=len(messages),
        quarantined=len(validation.quarantined),
        quarantine_reasons=dict(validation.reasons),
        failed_expectations=validation.failed,
        validation_path=validation.path,
        flag=validation.flag,
        judged=evaluated.judged,
        judge_cached=evaluated.cached,
        judge_errors=evaluated.errors,
        judge_cost_usd=evaluated.cost_usd,
        judge_budget_exhausted=evaluated.budget_exhausted,
        drifted=tuple(f"{r.release} {r.cohort} {r.column}" for r in drift.rows if r.drifted),
        reports=tuple(sorted({r.report_path for r in drift.rows if r.report_path})),
        frontier=frontier,
        seconds=time.perf_counter() - clock,
        stage_seconds=stage_seconds,
    )
