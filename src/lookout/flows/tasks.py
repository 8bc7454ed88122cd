"""The Prefect tasks every Lookout flow shares, and the bounded fan-out of windows.

Tasks wrap plain `lookout` functions; retries and concurrency are the only things added here.
Windows of one run go out to a thread pool at most `concurrency` at a time; the alert stage of
a monitor is serialized by the results store's monitor lock, so windows may finish in any order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prefect import allow_failure, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.notify.delivery import deliver, make_channels
from lookout.pipeline import Context, RunResult, Stage, plan_windows, run_window
from lookout.reports.site import refresh_site
from lookout.runtime.catchup import may_page
from lookout.windows import Window, as_utc

log = logging.getLogger("lookout.flows")

__all__ = [
    "FanOut",
    "WindowFailed",
    "deliver_task",
    "fan_out",
    "limited_context",
    "needs_time_order",
    "plan_task",
    "reports_task",
    "run_url",
    "run_window_task",
    "scheduled_start",
    "worth_retrying",
]


OUTBOX_LOCK = "lookout-outbox"  # not a monitor name: monitor names are identifiers


def scheduled_start() -> datetime:
    """The run's scheduled start (not now): a late run processes the windows it was meant to."""
    scheduled = flow_run.scheduled_start_time
    if scheduled is None:
        return datetime.now(UTC)
    # a plain datetime: Prefect's own DateTime type does not compare with stdlib ones
    return datetime.fromtimestamp(as_utc(scheduled).timestamp(), UTC)


def run_url() -> str | None:
    """The flow run's UI page, when a UI is configured (ephemeral mode has none)."""
    url = flow_run.ui_url
    return url if url and url.startswith(("http://", "https://")) else None


def limited_context(ctx: Context) -> Context:
    """Judge requests take a slot of the target's `prefect_limits.judge` limit (a rate limit
    when it has slot decay), shared by every process using the same Prefect API."""
    name = ctx.config.target.prefect_limits.judge
    if name is not None:
        from prefect.client.orchestration import get_client
        from prefect.concurrency.asyncio import rate_limit

        with get_client(sync_client=True) as client:
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
            except Exception:
                raise LookoutError(
                    f"profiles.yml: prefect_limits.judge names {name!r}, which does not exist; "
                    f"create it: prefect gcl create {name} --limit 10 --slot-decay-per-second 2"
                ) from None
        if not limit.slot_decay_per_second:
            raise LookoutError(
                f"profiles.yml: prefect_limits.judge {name!r} has no slot decay, so it is not "
                f"a rate limit; set one: prefect gcl update {name} --slot-decay-per-second 2"
            )

        async def throttle() -> None:
            await rate_limit(name, occupy=1)

        ctx.judge_throttle = throttle
    return ctx


@contextmanager
def _warehouse_slot(name: str | None) -> Iterator[None]:
    """One slot of the `prefect_limits.warehouse` global concurrency limit while a window
    runs: caps the load on the warehouse across every flow run and worker."""
    if name is None:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=1):
        yield


@task(name="plan-windows", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def plan_task(ctx: Context, monitor: Monitor, as_of: datetime) -> list[Window]:
    return plan_windows(ctx, monitor, as_of)


def _attempt() -> tuple[bool, datetime | None]:
    """(Is this the task run's last try?, when its first try started): a failure Prefect will
    retry pages nobody, and one whose window another run stored meanwhile neither."""
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    if context is None:  # called as a plain function: this try is the only one
        return True, None
    final = context.task_run.run_count > (context.task.retries or 0)
    started = context.task_run.start_time
    first_at = None if started is None else datetime.fromtimestamp(started.timestamp(), UTC)
    return final, first_at


class WindowFailed(LookoutError):
    """A window's run failed; `permanent` when no retry can fix it (`errors.is_permanent`)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: a window whose table does not fit the config fails alike
    on every try, so it is not retried (its owner hears at once, not after the pause). A state
    whose error cannot be read is retried, as every failure was before."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:  # Prefect would take a raise here for "do not retry"
        return True
    return not (isinstance(error, WindowFailed) and error.permanent)


@task(
    name="run-window",
    retries=1,
    retry_delay_seconds=5,
    retry_condition_fn=worth_retrying,
    cache_policy=NO_CACHE,
    task_run_name="{monitor.name} {window.label}",
)
def run_window_task(
    ctx: Context,
    monitor: Monitor,
    window: Window,
    as_of: datetime,
    stages: Collection[Stage] | None = None,
    notify: bool = True,
) -> RunResult:
    final, first_at = _attempt()
    with _warehouse_slot(ctx.config.target.prefect_limits.warehouse):
        result = run_window(
            ctx,
            monitor,
            window,
            as_of=as_of,
            flow_run_id=str(flow_run.id) if flow_run.id else None,
            run_url=run_url(),
            stages=stages,
            notify=notify,
            final_attempt=final,
            first_attempt_at=first_at,
        )
    if result.status == "failed":
        message = f"{monitor.name} {window.label}: {result.error}"
        raise WindowFailed(message, permanent=result.permanent)
    return result


@task(name="deliver-outbox", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def deliver_task(ctx: Context, as_of: datetime) -> dict[str, int]:
    """One delivery at a time per results store (hourly and nightly may overlap): a pending
    message is never picked up by two senders. A day's P2 digest is composed once the run's
    `as_of` is past that day, not the wall clock: a replay or a late run (`--as-of` 15:15 of
    a day) has not run that day's later windows yet, whose P2 openings belong in its digest
    (a live run's as-of is its scheduled start, about now, so nothing changes for it)."""
    with ctx.store.monitor_lock(OUTBOX_LOCK, purpose="delivery"):
        channels = make_channels(ctx.config.target, ctx.out_dir, ctx.config.monitors.owners)
        # finished days' P2 digests are composed first, then what is ready goes out
        report = deliver(ctx.store.outbox_repo, channels, now=as_of)
    return {
        "sent": len(report.sent),
        "carried": len(report.carried),
        "failed": len(report.failed),
        "held": ctx.store.outbox_repo.held_count(),
    }


@task(name="refresh-reports", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def reports_task(ctx: Context, monitors: list[Monitor], now: datetime, clean: bool = True) -> int:
    """The release and index pages rewritten; with `clean`, reports past retention deleted."""
    stale_after = ctx.config.monitors.alerting.stale_after  # releases shown as retired
    return len(refresh_site(ctx.store, ctx.out_dir, monitors, now, stale_after, clean=clean))


@dataclass
class FanOut:
    """What a fan-out of windows gave: results of completed windows and the failed ones."""

    results: list[RunResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # distinct, from Lookout's own errors
    not_run: dict[str, int] = field(default_factory=dict)  # monitor -> windows left out

    def not_run_text(self) -> str:
        """ "; bot: 22 later windows not run (...)" for the monitors whose table does not fit
        their config, or ""."""
        return "".join(
            f"; {name}: {n} later window(s) not run, they would fail alike (the table does "
            "not fit monitors.yml; the next run plans them again)"
            for name, n in self.not_run.items()
        )


def failure_reason(state: Any) -> str | None:
    """The first line of a failed task's error when it is one of Lookout's own (they name what
    to do, e.g. the pip extra of a missing driver, and never carry secrets); else None."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, LookoutError) and str(error):
        return str(error).splitlines()[0]
    return None


def needs_time_order(monitor: Monitor) -> bool:
    """Windows that read what earlier windows stored need those committed first: drift whose
    verdicts pool the stored summaries of a trailing `drift.period` longer than a window, or
    compare with "the previous release" (its first-seen time comes from the stored results),
    and change rules against the previous release.
    Their windows run one after another, in time order; other monitors' windows run side by
    side."""
    drift = monitor.drift.enabled and (
        monitor.drift.reference.kind == "previous_release"
        or monitor.drift.period > monitor.window.size
    )
    rules = any(
        rule.reference is not None and rule.reference.kind == "previous_release"
        for rule in monitor.rules
    )
    return drift or rules


def fan_out(
    ctx: Context,
    jobs: list[tuple[Monitor, Window]],
    as_of: datetime,
    *,
    concurrency: int = 1,
    stages: Collection[Stage] | None = None,
    notify: bool = True,
    on_done: object = None,
    notify_within: int | None = None,
) -> FanOut:
    """Run windows with at most `concurrency` in flight (in time order per monitor where
    `needs_time_order`); a failed window (after its retry) is reported and the others still
    run, except a monitor's windows not started yet when one of them failed because its
    table does not fit its config (they would fail alike; with `concurrency` > 1 those
    already in flight still run). `on_done(finished, total)` follows progress. With
    `notify_within`, windows older than that many windows before `as_of` run without paging
    (a catch-up)."""
    out = FanOut()
    in_flight: deque = deque()
    finished = 0
    broken: set[str] = set()  # monitors whose table does not fit their config

    def collect() -> None:
        monitor, window, future = in_flight.popleft()
        future.wait()
        state = future.state
        if state.is_completed():
            out.results.append(future.result())
        else:
            out.failures.append(f"{monitor.name} {window.label}")
            error = state.result(raise_on_failure=False)
            if isinstance(error, WindowFailed) and error.permanent:
                broken.add(monitor.name)
            reason = failure_reason(state)
            if reason is not None:  # the window is named already
                reason = reason.removeprefix(f"{monitor.name} {window.label}: ")
            if reason is not None and reason not in out.reasons:
                out.reasons.append(reason)
        done()

    def done() -> None:
        nonlocal finished
        finished += 1
        if callable(on_done):
            try:
                on_done(finished, len(jobs))
            except Exception:  # progress is a view; the windows in flight must finish
                log.warning("progress update failed", exc_info=True)

    previous: dict[str, object] = {}  # monitor -> its last submitted window (ordered ones)
    for monitor, window in sorted(jobs, key=lambda job: (job[1].start, job[0].name)):
        if len(in_flight) >= max(1, concurrency):
            collect()
        if monitor.name in broken:
            out.not_run[monitor.name] = out.not_run.get(monitor.name, 0) + 1
            done()
            continue
        after = [allow_failure(previous[monitor.name])] if monitor.name in previous else []
        # a catch-up pages only about its newest windows (lookout.runtime.catchup)
        within = notify_within
        paging = notify and (within is None or may_page(monitor, window, as_of, within))
        future = run_window_task.submit(ctx, monitor, window, as_of, stages, paging, wait_for=after)
        if needs_time_order(monitor):
            previous[monitor.name] = future
        in_flight.append((monitor, window, future))
    while in_flight:
        collect()
    out.results.sort(key=lambda r: (r.monitor, r.window.start))
    return out
