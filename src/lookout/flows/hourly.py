"""The hourly flow: every monitor's complete windows since its watermark, then delivery.

Thin on purpose: planning, the window run and delivery are plain functions in `lookout`.
Windows are derived from the run's scheduled start (not `now()`), so a late or re-scheduled
run processes the windows it was meant to, and a run after downtime catches up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from lookout.alerts.digest import compose_digests
from lookout.alerts.notifier import deliver_outbox, make_notifier
from lookout.config.loader import load_config
from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.pipeline import Context, RunResult, plan_windows, run_window
from lookout.reports.site import refresh_site
from lookout.windows import Window, as_utc

__all__ = ["HourlySummary", "hourly"]

HourlySummary = dict[str, Any]


def _scheduled_start() -> datetime:
    scheduled = flow_run.scheduled_start_time
    return as_utc(scheduled) if scheduled is not None else datetime.now(UTC)


def _run_url() -> str | None:
    """The flow run's UI page, when a UI is configured (ephemeral mode has none)."""
    url = flow_run.ui_url
    return url if url and url.startswith(("http://", "https://")) else None


@task(name="plan-windows", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def plan_task(ctx: Context, monitor: Monitor, as_of: datetime) -> list[Window]:
    return plan_windows(ctx, monitor, as_of)


@task(name="run-window", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def run_window_task(ctx: Context, monitor: Monitor, window: Window, as_of: datetime) -> RunResult:
    result = run_window(
        ctx, monitor, window, as_of=as_of, flow_run_id=flow_run.id, run_url=_run_url()
    )
    if result.status == "failed":
        raise LookoutError(f"{monitor.name} {window.label}: {result.error}")
    return result


@task(name="deliver-outbox", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def deliver_task(ctx: Context) -> dict[str, int]:
    compose_digests(ctx.store, datetime.now(UTC))  # yesterday's P2 alerts, one per owner
    notifier = make_notifier(ctx.config.target.slack, ctx.out_dir)
    report = deliver_outbox(ctx.store, notifier)
    return {"sent": len(report.sent), "failed": len(report.failed)}


@task(name="refresh-reports", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def reports_task(ctx: Context, monitors: list[Monitor], now: datetime) -> int:
    return len(refresh_site(ctx.store, ctx.out_dir, monitors, now))


@flow(name="lookout-hourly")
def hourly(
    as_of: datetime | None = None,
    monitors: list[str] | None = None,
    profiles_path: str = "profiles.yml",
    monitors_path: str = "monitors.yml",
    target: str | None = None,
) -> HourlySummary:
    """Run every complete window of every monitor (or of `monitors`) up to `as_of`."""
    logger = get_run_logger()
    config = load_config(Path(profiles_path), Path(monitors_path), target=target)
    unknown = sorted(set(monitors or ()) - {m.name for m in config.monitors.monitors})
    if unknown:
        raise LookoutError(f"unknown monitor(s): {', '.join(unknown)} (see {monitors_path})")
    as_of = as_utc(as_of) if as_of is not None else _scheduled_start()
    ctx = Context.from_config(config)
    results: list[RunResult] = []
    failures: list[str] = []
    try:
        for monitor in config.monitors.monitors:
            if monitors and monitor.name not in monitors:
                continue
            planned = plan_task(ctx, monitor, as_of, return_state=True)
            if not planned.is_completed():
                # e.g. the warehouse is down: other monitors and the delivery still run
                failures.append(f"{monitor.name} (planning failed)")
                continue
            for window in planned.result():
                state = run_window_task(ctx, monitor, window, as_of, return_state=True)
                if state.is_completed():
                    results.append(state.result())
                else:
                    failures.append(f"{monitor.name} {window.label}")
        delivery = deliver_task(ctx)
        chosen = [m for m in config.monitors.monitors if not monitors or m.name in monitors]
        pages = reports_task(ctx, chosen, as_of, return_state=True)
        if not pages.is_completed():
            failures.append("report index (refresh failed)")
    finally:
        ctx.close()
    logger.info(
        "%d windows, %d rows, %d quarantined, %d alerts opened, %d messages sent, "
        "%d failed windows",
        len(results),
        sum(r.rows for r in results),
        sum(r.quarantined for r in results),
        sum(len(r.alerts_opened) for r in results),
        delivery["sent"],
        len(failures),
    )
    if failures:
        raise LookoutError(f"{len(failures)} window(s) failed: {', '.join(failures[:10])}")
    return {"as_of": as_of, "results": results, "delivery": delivery}
