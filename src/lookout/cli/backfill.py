"""`lookout backfill`: the deployment's backfill flow, run in this process with a progress bar.

Same flow, same planning (`lookout.services.backfill`), same idempotency as a backfill started
from the Prefect UI: windows whose results are stored are skipped unless `--force`, and the
summary says how many. Bad ranges are refused before anything runs (exit 2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from lookout.cli.common import (
    chosen_monitors,
    fail,
    load,
    telemetry_off,
    temporary_api_failed,
)
from lookout.cli.console import console, err_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from lookout.services.backfill import BackfillOutcome, BackfillPlan

__all__ = ["backfill", "parse_moment", "parse_stages"]


STAGE_HELP = (
    "comma-separated stages to recompute: validate, drift, evaluate (reading, ops metrics and "
    "alert state always run; `ops` alone recomputes only those)"
)


def parse_moment(option: str, text: str) -> datetime:
    """`2026-11-02`, `2026-11-02T06:00`, `2026-11-02 06:00:00+01:00`, `...Z`: as UTC (naive
    times are UTC). ValueError names the option."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{option}: {text!r} is not a date or date-time (e.g. 2026-11-02 or 2026-11-02T06:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_stages(text: str) -> list[str]:
    """`validate,drift` -> the optional stages to run; `ops` is always run (accepted, and
    alone it means none of the optional ones). ValueError names what is accepted."""
    from lookout.pipeline import Stage

    known = [s.value for s in Stage]
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in known and n != "ops"]
    if unknown:
        raise ValueError(
            f"--stages: unknown stage {', '.join(map(repr, unknown))} "
            f"(known: ops, {', '.join(known)})"
        )
    return [n for n in known if n in names]


def backfill(
    start: Annotated[str, typer.Option("--start", help="range start, UTC (2026-11-02T06:00)")],
    end: Annotated[str, typer.Option("--end", help="range end (excluded), UTC")],
    monitor: Annotated[
        str | None, typer.Option("--monitor", help="monitor name (default: every monitor)")
    ] = None,
    stages: Annotated[str, typer.Option("--stages", help=STAGE_HELP)] = "validate,drift,evaluate",
    force: Annotated[
        bool, typer.Option("--force", help="recompute windows whose results are stored")
    ] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="send the alert messages old windows cause, at the end (off: they page nobody)",
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="windows in flight")] = 4,
    profiles: Annotated[Path, typer.Option("--profiles", help="profiles.yml (WHERE)")] = Path(
        "profiles.yml"
    ),
    monitors: Annotated[Path, typer.Option("--monitors", help="monitors.yml (WHAT)")] = Path(
        "monitors.yml"
    ),
    target: Annotated[str | None, typer.Option("--target", help="profile target to use")] = None,
) -> None:
    """Recompute the windows of a past range in this process (no server or worker needed):
    the deployment's backfill flow, skipping windows whose results are stored unless --force.
    A range longer than the monitor's `window.max_backfill_windows` is refused."""
    telemetry_off()
    from lookout.services.backfill import check_range

    try:
        first = parse_moment("--start", start)
        last = parse_moment("--end", end)
        chosen_stages = parse_stages(stages)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    config = load(profiles, monitors, target, drivers=False)
    configured = [m.name for m in config.monitors.monitors]
    chosen = chosen_monitors(config, [monitor] if monitor is not None else None)
    try:
        check_range(chosen, first, last, datetime.now(UTC))
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    outcome = _run(
        configured,
        {
            "start": first,
            "end": last,
            "monitor": monitor or "all",
            "stages": chosen_stages,
            "force": force,
            "notify": notify,
            "concurrency": concurrency,
            "profiles_path": str(profiles),
            "monitors_path": str(monitors),
            "target": target,
        },
    )
    summary = outcome.describe(force_hint="--force recomputes them")
    console.print(f"backfill: {summary}", highlight=False, soft_wrap=True)
    if outcome.index is not None:
        console.print(f"reports: {escape(outcome.index)}", highlight=False, soft_wrap=True)
    if not (outcome.run or outcome.skipped or outcome.failed or outcome.waiting):
        console.print(
            "no whole window in the range (windows are window.size long, aligned in UTC)",
            highlight=False,
            soft_wrap=True,
        )
    if outcome.failed:
        for failure in outcome.failed[:20]:
            err_console.print(f"failed: {escape(failure)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _run(names: list[str], parameters: dict) -> BackfillOutcome:
    """The backfill flow, called in-process, followed by a progress bar."""
    from lookout.errors import LookoutError
    from lookout.flows.backfill import build_backfill_flow
    from lookout.services.backfill import BackfillOutcome, listening

    bar = _ProgressBar(Console(stderr=True))  # a real Console: rich's Live keeps state on it
    try:
        with listening(bar):
            build_backfill_flow(names)(**parameters)
    except LookoutError as exc:
        if bar.outcome is None:  # failed before or while planning: nothing ran
            raise fail(str(exc), 1) from None
    except RuntimeError as exc:
        said = temporary_api_failed(exc)
        if said is None:
            raise
        raise fail(said, 1) from None
    finally:
        bar.stop()
    return bar.outcome or BackfillOutcome(run=0, skipped=0)


class _ProgressBar:
    """A `BackfillListener`: a rich progress bar over the planned windows."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.outcome: BackfillOutcome | None = None

    def planned(self, plan: BackfillPlan) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        if not plan.jobs:  # nothing to run: the summary says why
            return
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.out,
        )
        self.task = self.progress.add_task("backfill", total=len(plan.jobs))
        self.progress.start()

    def progressed(self, finished: int, total: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=finished, total=total)

    def finished(self, outcome: BackfillOutcome) -> None:
        self.outcome = outcome
        self.stop()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
