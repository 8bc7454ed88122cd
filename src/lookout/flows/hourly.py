"""The hourly flow: every monitor's complete windows since its watermark, then delivery.

Thin on purpose: planning, the window run and delivery are plain functions in `lookout`.
Windows are derived from the run's scheduled start (not `now()`), so a late or re-scheduled
run processes the windows it was meant to, and a run after downtime catches up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.flows.runs import flow_config, flow_context, wrap_up
from lookout.flows.tasks import failure_reason, fan_out, plan_task, scheduled_start
from lookout.runtime.catchup import catch_up_line, may_page
from lookout.windows import Window, check_as_of

__all__ = ["HourlySummary", "hourly"]

HourlySummary = dict[str, Any]


@flow(name="lookout-hourly", task_runner=ThreadPoolTaskRunner(max_workers=4))
def hourly(
    as_of: datetime | None = None,
    monitors: list[str] | None = None,
    profiles_path: str = "profiles.yml",
    monitors_path: str = "monitors.yml",
    target: str | None = None,
    concurrency: int = 1,
    notify_within: int | None = None,
) -> HourlySummary:
    """Run every complete window of every monitor (or of `monitors`) up to `as_of`.

    `concurrency` > 1 runs windows side by side; 1 (the default) keeps each monitor's windows
    in time order, so alert messages of a catch-up read as they happened. Only the newest
    `notify_within` windows (default: `alerting.notify_within`) page; older ones are stored.
    """
    logger = get_run_logger()
    config, chosen = flow_config(profiles_path, monitors_path, target, monitors)
    if as_of is not None:
        try:
            as_of = check_as_of(as_of, datetime.now(UTC))
        except ValueError as exc:
            raise LookoutError(str(exc)) from None
    else:
        as_of = scheduled_start()
    failures: list[str] = []
    reasons: list[str] = []  # what Lookout's own errors said, once each
    catch_ups: list[str] = []  # why windows of a catch-up paged nobody (said by `lookout run`)
    with flow_context(config) as ctx:
        jobs: list[tuple[Monitor, Window]] = []
        for monitor in chosen:
            planned = plan_task(ctx, monitor, as_of, return_state=True)
            if not planned.is_completed():
                # e.g. the warehouse is down: other monitors and the delivery still run
                failures.append(f"{monitor.name} (planning failed)")
                reason = failure_reason(planned)
                if reason is not None and reason not in reasons:
                    reasons.append(reason)
                continue
            jobs += [(monitor, window) for window in planned.result()]
        within = notify_within or config.monitors.alerting.notify_within
        ran = fan_out(ctx, jobs, as_of, concurrency=concurrency, notify_within=within)
        for monitor in chosen:
            mine = [r for r in ran.results if r.monitor == monitor.name]
            quiet = [r for r in mine if not may_page(monitor, r.window, as_of, within)]
            line = catch_up_line(monitor.name, quiet, [r for r in mine if r not in quiet], within)
            if line:
                logger.info(line)
                catch_ups.append(line)
        failures += ran.failures
        reasons += [r for r in ran.reasons if r not in reasons]
        delivery = wrap_up(ctx, "hourly", chosen, as_of, ran.results, failures)
    results = ran.results
    logger.info(
        "%d windows, %d rows, %d quarantined, %d failed checks (%d errored), "
        "%d alerts opened, %d messages sent, %d failed windows",
        len(results),
        sum(r.rows for r in results),
        sum(r.quarantined for r in results),
        sum(r.failed_expectations for r in results),
        sum(r.errored_expectations for r in results),
        sum(len(r.alerts_opened) for r in results),
        delivery["sent"],
        len(failures),
    )
    if failures:
        why = f" ({'; '.join(reasons[:3])})" if reasons else ""
        listed = f"{', '.join(failures[:10])}{ran.not_run_text()}"
        raise LookoutError(f"{len(failures)} window(s) failed: {listed}{why}")
    return {"as_of": as_of, "results": results, "delivery": delivery, "catch_up": catch_ups}
