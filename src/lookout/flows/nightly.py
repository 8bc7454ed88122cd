"""The nightly flow: yesterday's drift reports with the whole day's rows, judge summaries per
release, the P2 digests, and retention of old reports.

The day is the one before the run's scheduled start (UTC), so a late or re-run nightly covers
the day it was meant to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.flows.artifacts import artifact_key, judge_rows, md
from lookout.flows.runs import flow_config, flow_context, wrap_up
from lookout.flows.tasks import scheduled_start
from lookout.pipeline import Context
from lookout.reports.build import build_day_reports
from lookout.services.compare import newest_scorecard

__all__ = ["nightly"]


@task(name="day-reports", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
def day_reports_task(ctx: Context, monitor: Monitor, day: date) -> dict[str, list[str]]:
    outcome = build_day_reports(ctx.warehouse, ctx.store, monitor, ctx.out_dir, day)
    return {"written": outcome.written, "failed": outcome.failed}


@task(name="scorecard", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
def scorecard_task(ctx: Context, monitor: Monitor, until: datetime) -> str | None:
    """The newest release against the one before, over the week up to `until`."""
    return newest_scorecard(ctx.store, ctx.warehouse, monitor, until, ctx.out_dir)


@flow(name="lookout-nightly")
def nightly(
    day: date | None = None,
    monitors: list[str] | None = None,
    profiles_path: str = "profiles.yml",
    monitors_path: str = "monitors.yml",
    target: str | None = None,
) -> dict[str, Any]:
    """Summaries of `day` (default: the UTC day before the scheduled start)."""
    from prefect.artifacts import create_table_artifact

    logger = get_run_logger()
    config, chosen = flow_config(profiles_path, monitors_path, target, monitors)
    as_of = scheduled_start()
    the_day = day or (as_of - timedelta(days=1)).date()
    day_start = datetime.combine(the_day, time(0), tzinfo=UTC)
    failures: list[str] = []
    written: list[str] = []
    judges: dict[str, list[dict[str, Any]]] = {}
    scorecards: list[str] = []
    with flow_context(config) as ctx:
        for monitor in chosen:
            if monitor.drift.enabled:
                state = day_reports_task(ctx, monitor, the_day, return_state=True)
                if state.is_completed():
                    built = state.result()
                    written += built["written"]
                    failures += [f"{monitor.name} report {f}" for f in built["failed"]]
                else:
                    failures.append(f"{monitor.name} (day reports failed)")
            card = scorecard_task(ctx, monitor, day_start + timedelta(days=1), return_state=True)
            if card.is_completed():
                if card.result():
                    scorecards.append(card.result())
            else:
                failures.append(f"{monitor.name} (scorecard failed)")
            rows = judge_rows(
                ctx.store.metrics(
                    monitor.name, cohort="*", since=day_start, until=day_start + timedelta(1)
                )
            )
            if rows:
                judges[monitor.name] = rows
                create_table_artifact(
                    rows,
                    key=artifact_key(monitor.name, "judges"),
                    description=f"{monitor.name}: evaluator pass rates per release, {the_day}",
                )
        extra = [
            f"## Day {the_day}",
            "",
            f"{len(written)} drift report(s) rebuilt; scorecard(s): "
            + (", ".join(md(Path(path).name) for path in scorecards) or "none"),
        ]
        for name, rows in judges.items():
            extra += ["", f"### Evaluators of {md(name)}", ""]
            extra += [
                f"- {md(r['release'])} {md(r['evaluator'])}: pass rate {r['pass_rate']:.1%} "
                f"(n={r['n']:,})"
                for r in rows
            ]
        # finished days' P2 digests, then retention of old reports and the indexes
        delivery = wrap_up(ctx, "nightly", chosen, as_of, [], failures, extra)
    logger.info(
        "nightly %s: %d reports, %d messages sent, %d problems",
        the_day,
        len(written),
        delivery["sent"],
        len(failures),
    )
    if failures:
        raise LookoutError(f"nightly {the_day}: {'; '.join(failures[:10])}")
    return {
        "day": the_day,
        "reports": written,
        "scorecards": scorecards,
        "judges": judges,
        "delivery": delivery,
    }
