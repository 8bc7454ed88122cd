"""The backfill flow: chosen stages of chosen monitors over a past period, from the UI's
"Custom run" form or the CLI.

Prefect 3 has no backfill feature of its own: this is a deployment without a schedule whose
typed parameters render as the run form: `monitor` a dropdown of the configured monitors (a
`Literal` built from monitors.yml when the flow is built), `start`/`end` date-time pickers,
`stages` a multi-select. Windows that already have results are skipped unless `force`; so a
re-run after a crash does only what is missing, and each window is stored exactly once.

No `from __future__ import annotations` here: the parameter annotations must be real objects
when Prefect builds the form's schema (the monitor choice is a local variable).
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from prefect import Flow, flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from lookout.config.loader import LookoutConfig, load_monitors
from lookout.config.models import Monitor
from lookout.errors import LookoutError
from lookout.flows.artifacts import publish_run_artifacts
from lookout.flows.runs import flow_config, flow_context
from lookout.flows.tasks import deliver_task, fan_out, reports_task, scheduled_start
from lookout.pipeline import Context, Stage
from lookout.reports.paths import REPORTS_DIR
from lookout.services.backfill import (
    BackfillOutcome,
    announce,
    backfill_windows,
    check_range,
    plan_backfill,
    waiting_text,
)
from lookout.windows import as_utc, windows_between

__all__ = ["backfill_windows", "build_backfill_flow", "monitor_names", "split_range"]

log = logging.getLogger("lookout.flows")

ALL_STAGES = [Stage.validate, Stage.drift, Stage.evaluate]


def monitor_names(monitors_path: str | Path) -> list[str]:
    """The configured monitors' names, for the form's dropdown (none if the file is missing)."""
    path = Path(monitors_path)
    if not path.exists():
        return []
    try:
        return [m.name for m in load_monitors(path).monitors]
    except Exception:  # a broken file fails the run with its own clear error, not the import
        log.warning("could not read %s for the backfill form", path, exc_info=True)
        return []


def split_range(
    start: datetime, end: datetime, step: timedelta, parts: int
) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into at most `parts` contiguous ranges on `step` boundaries."""
    windows = windows_between(as_utc(start), as_utc(end), step)
    if not windows:
        return [(as_utc(start), as_utc(end))]
    size = -(-len(windows) // max(1, parts))  # ceiling
    chunks = [windows[i : i + size] for i in range(0, len(windows), size)]
    ranges = [(chunk[0].start, chunk[-1].end) for chunk in chunks]
    ranges[0] = (as_utc(start), ranges[0][1])
    ranges[-1] = (ranges[-1][0], as_utc(end))
    return ranges


def _run_parts(
    ranges: list[tuple[datetime, datetime]], parameters: dict[str, Any], parent: str
) -> list[tuple[str, str]]:
    """One run of this deployment per range (any worker of the pool picks each up); waits for
    all of them. Idempotency keys make a retried parent reuse its parts, not duplicate them."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.runtime import deployment

    name = f"lookout-backfill/{deployment.name}"
    runs = [
        run_deployment(
            name,
            parameters={**parameters, "start": lo.isoformat(), "end": hi.isoformat(), "split": 1},
            timeout=0,
            idempotency_key=f"{parent}-{index}",
            flow_run_name=f"backfill part {index + 1}/{len(ranges)}",
        )
        for index, (lo, hi) in enumerate(ranges)
    ]
    pending = {run.id for run in runs}
    states: dict[Any, str] = {}
    with get_client(sync_client=True) as client:
        while pending:
            for run_id in list(pending):
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    states[run_id] = state.type.value
                    pending.discard(run_id)
            if pending:
                time.sleep(2)
    return [(run.name, states[run.id]) for run in runs]


def build_backfill_flow(names: Sequence[str]) -> Flow:
    """A backfill flow whose `monitor` parameter offers exactly `names` (and "all")."""
    MonitorChoice = Literal[tuple(["all", *names])]  # a type built at runtime

    @flow(
        name="lookout-backfill",
        task_runner=ThreadPoolTaskRunner(max_workers=8),
        description="Recompute chosen stages of past windows (skips windows with results "
        "unless force).",
    )
    def backfill(
        start: datetime,
        end: datetime,
        monitor: MonitorChoice = "all",
        stages: list[Stage] = ALL_STAGES,  # shown as the form default
        force: bool = False,
        notify: bool = False,
        concurrency: int = 4,
        split: int = 1,
        profiles_path: str = "profiles.yml",
        monitors_path: str = "monitors.yml",
        target: str | None = None,
    ) -> dict[str, Any]:
        """Run `stages` (reading, ops metrics and alert state always run) of every window of
        [start, end). `notify` sends the alert messages old windows cause, at the run's end
        (off: old incidents do not page anyone; an alert still firing is announced by the
        next hourly run).
        `split` > 1 (deployment runs only) cuts the range into that many runs of this
        deployment, which the pool's workers pick up side by side (scale-out)."""
        if as_utc(end) <= as_utc(start):
            raise LookoutError(f"end ({end}) must be after start ({start})")
        names = None if monitor == "all" else [monitor]
        config, chosen = flow_config(profiles_path, monitors_path, target, names)
        as_of = scheduled_start()
        try:  # the range guard holds for the whole range, split or not
            check_range(chosen, start, end, as_of)
        except ValueError as exc:
            raise LookoutError(str(exc)) from None
        if split > 1:
            args = {
                "monitor": monitor,
                "stages": [Stage(s).value for s in stages],
                "force": force,
                "notify": notify,
                "concurrency": concurrency,
                "profiles_path": profiles_path,
                "monitors_path": monitors_path,
                "target": target,
            }
            return _split(chosen, start, end, split, args)
        job = _Job(chosen, start, end, as_of, list(stages), force, notify, concurrency)
        return _run(config, job)

    return backfill


@dataclass(frozen=True)
class _Job:
    """One backfill run's choices, as the form gave them."""

    chosen: list[Monitor]
    start: datetime
    end: datetime
    as_of: datetime
    stages: list[Stage]
    force: bool
    notify: bool
    concurrency: int


def _run(config: LookoutConfig, job: _Job) -> dict[str, Any]:
    """Plan the windows still to do, run them side by side with a progress artifact the UI
    shows, publish the run's artifacts; a failed window fails the flow run (after the others
    ran and their results were stored)."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    listener = announce()  # `lookout backfill` follows the run in this process
    with flow_context(config) as ctx:
        plan = plan_backfill(ctx.store, job.chosen, job.start, job.end, job.as_of, job.force)
        jobs = plan.jobs
        listener.planned(plan)
        progress_id = create_progress_artifact(
            0.0, description=f"backfill: 0 of {len(jobs)} windows"
        )

        def progress(finished: int, total: int) -> None:
            listener.progressed(finished, total)
            update_progress_artifact(
                progress_id,
                100.0 * finished / total,
                description=f"backfill: {finished} of {total} windows",
            )

        ran = fan_out(
            ctx,
            jobs,
            job.as_of,
            concurrency=job.concurrency,
            stages=job.stages,
            notify=job.notify,
            on_done=progress,
        )
        failures = list(ran.failures)
        # what `notify` queued goes out now, not with the next hourly run's delivery
        delivery = deliver_task(ctx, job.as_of) if job.notify else None
        index = _refresh_index(ctx, job, failures)
        skipped = _skipped_text(plan.skipped_total)
        if not jobs:
            update_progress_artifact(
                progress_id, 100.0, description=f"backfill: nothing to do{skipped}"
            )
        extra = [
            f"Range {as_utc(job.start):%Y-%m-%d %H:%M}–{as_utc(job.end):%Y-%m-%d %H:%M} UTC, "
            f"stages {_stage_names(job.stages)}, force {job.force}: "
            f"{len(jobs)} window(s) to run{skipped}{waiting_text(plan.waiting)}."
        ]
        publish_run_artifacts(ctx, "backfill", job.as_of, ran.results, failures, delivery, extra)
    outcome = BackfillOutcome(
        run=len(ran.results),
        skipped=plan.skipped_total,
        failed=tuple(failures),
        rows=sum(r.rows for r in ran.results),
        waiting=tuple(plan.waiting),
        index=index,
        sent=None if delivery is None else delivery["sent"],
    )
    get_run_logger().info("backfill: %s", outcome.describe())
    listener.finished(outcome)
    if failures:
        listed = f"{', '.join(failures[:10])}{ran.not_run_text()}"
        raise LookoutError(f"{len(failures)} window(s) failed: {listed}")
    return {
        "windows": [r.window for r in ran.results],
        "results": ran.results,
        "failures": ran.failures,
        "skipped": plan.skipped_total,
        "sent": outcome.sent,
    }


def _refresh_index(ctx: Context, job: _Job, failures: list[str]) -> str | None:
    """Rewrite the release pages and the report index (each monitor's and the root), as the
    hourly run's wrap-up does, so the reports this backfill wrote are listed; the root index's
    path, or None (and a failure) when the refresh failed. Nothing is deleted for retention
    here: the backfill was asked for these days, however old; the hourly and nightly runs
    apply `drift.reports.retention`."""
    pages = reports_task(ctx, job.chosen, job.as_of, clean=False, return_state=True)
    if not pages.is_completed():
        failures.append("report index (refresh failed)")
        return None
    return str(ctx.out_dir / REPORTS_DIR / "index.html")


def _stage_names(stages: Sequence[Stage | str]) -> str:
    names = ", ".join(Stage(s).value for s in stages)
    return names or "none (ops metrics and alert state only)"


def _skipped_text(skipped: int) -> str:
    """What the artifact says of stored windows (the same count the run log gives)."""
    if not skipped:
        return ""
    reason = "because their results are already stored (force: true recomputes them)"
    return f", {skipped} skipped {reason}"


def _split(
    chosen: list[Monitor], start: datetime, end: datetime, split: int, args: dict[str, Any]
) -> dict[str, Any]:
    from prefect.artifacts import create_markdown_artifact
    from prefect.runtime import deployment, flow_run

    if deployment.id is None:
        raise LookoutError("split needs a deployment run: its parts go to the work pool")
    step = max(m.window.size for m in chosen)
    ranges = split_range(start, end, step, split)
    parts = _run_parts(ranges, args, str(flow_run.id))
    lines = ["# Lookout backfill (split)", ""] + [
        f"- {name}: {as_utc(lo):%Y-%m-%d %H:%M}–{as_utc(hi):%Y-%m-%d %H:%M} UTC, {state}"
        for (name, state), (lo, hi) in zip(parts, ranges, strict=True)
    ]
    create_markdown_artifact("\n".join(lines) + "\n", key="lookout-backfill-summary")
    failed = [name for name, state in parts if state != "COMPLETED"]
    if failed:
        raise LookoutError(f"{len(failed)} part(s) did not complete: {', '.join(failed)}")
    return {"parts": [name for name, _ in parts], "windows": [], "failures": []}
