"""The nightly flow: yesterday's drift reports with the whole day's rows, judge summaries per
release, the P2 digests, and retention of old reports.

The day is the one before the run's scheduled start (UTC), so a late or re-run nightly covers
the day it was meant to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    logger = get_run_logger()
    config, chosen = flow_config(profiles_path, monitors_path, target, monitors)
    as_of = scheduled_start()
    the_day = day or (as_of - timedelta(days=1)).date()
    night = _Night(the_day)
    with flow_context(config) as ctx:
        for monitor in chosen:
            night.summarize(ctx, monitor)
        extra = night.lines()
        # finished days' P2 digests, then retention of old reports and the indexes
        delivery = wrap_up(ctx, "nightly", chosen, as_of, [], night.failures, extra)
    logger.info(
        "nightly %s: %d reports, %d messages sent, %d problems",
        the_day,
        len(night.written),
        delivery["sent"],
        len(night.failures),
    )
    if night.failures:
        raise LookoutError(f"nightly {the_day}: {'; '.join(night.failures[:10])}")
    return {
        "day": the_day,
        "reports": night.written,
        "scorecards": night.scorecards,
        "judges": night.judges,
        "delivery": delivery,
    }


@dataclass
class _Night:
    """What the nightly run found for one day, monitor by monitor: a monitor whose reports or
    scorecard fail adds a failure and the others still run."""

    day: date
    written: list[str] = field(default_factory=list)
    scorecards: list[str] = field(default_factory=list)
    judges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summarize(self, ctx: Context, monitor: Monitor) -> None:
        """The monitor's day reports (drift), its scorecard, its evaluators' pass rates."""
        from prefect.artifacts import create_table_artifact

        day_start = datetime.combine(self.day, time(0), tzinfo=UTC)
        if monitor.drift.enabled:
            state = day_reports_task(ctx, monitor, self.day, return_state=True)
            if state.is_completed():
                built = state.result()
                self.written += built["written"]
                self.failures += [f"{monitor.name} report {f}" for f in built["failed"]]
            else:
                self.failures.append(f"{monitor.name} (day reports failed)")
        card = scorecard_task(ctx, monitor, day_start + timedelta(days=1), return_state=True)
        if not card.is_completed():
            self.failures.append(f"{monitor.name} (scorecard failed)")
        elif card.result():
            self.scorecards.append(card.result())
        rows = judge_rows(
            ctx.store.metrics(
                monitor.name, cohort="*", since=day_start, until=day_start + timedelta(1)
            )
        )
        if rows:
            self.judges[monitor.name] = rows
            create_table_artifact(
                rows,
                key=artifact_key(monitor.name, "judges"),
                description=f"{monitor.name}: evaluator pass rates per release, {self.day}",
            )

    def lines(self) -> list[str]:
        """The run artifact's section on the day."""
        out = [
            f"## Day {self.day}",
            "",
            f"{len(self.written)} drift report(s) rebuilt; scorecard(s): "
            + (", ".join(md(Path(path).name) for path in self.scorecards) or "none"),
        ]
        for name, rows in self.judges.items():
            out += ["", f"### Evaluators of {md(name)}", ""]
            out += [
                f"- {md(r['release'])} {md(r['evaluator'])}: pass rate {r['pass_rate']:.1%} "
                f"(n={r['n']:,})"
                for r in rows
            ]
        return out
