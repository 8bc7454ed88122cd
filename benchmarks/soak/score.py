"""Run Lookout over the soak scenario window by window and score its alerts.

Builds the warehouse (unless `--dir` already holds one with its `incidents.json`), then runs
every hourly window in time order through the real `lookout.pipeline.run_window` (every stage:
GX validation, ops metrics, drift against the previous release, the offline groundedness
evaluator on the sample, rules, alert lifecycle) into a fresh SQLite results store, delivering
each window's messages to the file outbox (`<dir>/outbox/*.json`) as the hourly flow would. It
records every alert that opened or resolved in each window, turns them into episodes and scores
them against the incident catalogue (`scoring.py`): per incident the delay to detect and to
resolve in windows, and the false alerts per clean day and per week. Prints a table; `--json`
also writes everything.

    python benchmarks/soak/score.py --dir /tmp/soak                    # normal traffic
    python benchmarks/soak/score.py --dir /tmp/soak-low --variant low  # ~3,000 rows a day
    python benchmarks/soak/score.py --dir /tmp/soak --json soak.json --windows 48   # smoke run

Without `--dir` everything happens in a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `soak` and `_results` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import peak_rss_mb, row, write_json

from soak.scenario import DEFAULT_DAYS, DEFAULT_START, Scenario
from soak.scoring import (
    AlertKey,
    Score,
    Targets,
    episodes_from_windows,
    score_run,
)

__all__ = ["WindowRecord", "format_report", "run_soak", "score_records"]

HERE = Path(__file__).resolve().parent
AFTER = 3  # windows past an incident's end that still belong to it (resolve target, clean days)
DETECT_HORIZON = 24  # a detection may come up to a day after onset (the low-traffic target)
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


@dataclass
class WindowRecord:
    """What one window run did, as the scorer needs it."""

    index: int
    start: datetime
    status: str
    rows: int
    seconds: float
    opened: list[AlertKey] = field(default_factory=list)
    resolved: list[AlertKey] = field(default_factory=list)
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def targets_for(variant: str) -> Targets:
    """Within 2 windows at normal traffic, within a day at low traffic."""
    return Targets(detect=24 if variant == "low" else 2)


def score_records(scenario: Scenario, records: Sequence[WindowRecord]) -> Score:
    """Score the windows that ran (a partial run scores only the incidents it reached)."""
    episodes = episodes_from_windows((r.index, r.opened, r.resolved) for r in records)
    n_windows = max((r.index for r in records), default=-1) + 1
    reached = scenario.start + n_windows * scenario.window
    return score_run(
        [i for i in scenario.incidents if i.onset < reached],
        episodes,
        scenario.start,
        scenario.window,
        n_windows,
        after=AFTER,
        detect_horizon=DETECT_HORIZON,
        targets=targets_for(scenario.variant),
    )


def _fresh_outputs(directory: Path) -> None:
    """A new results store and outbox folder: every run scores from the first window."""
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm"):
        (directory / name).unlink(missing_ok=True)
    for lock in directory.glob("results.sqlite.*.lock"):
        lock.unlink()
    shutil.rmtree(directory / "outbox", ignore_errors=True)


def _ensure_warehouse(directory: Path, args: argparse.Namespace) -> tuple[Scenario, bool]:
    from soak.generate import build

    catalogue = directory / "incidents.json"
    if (directory / "warehouse.duckdb").exists() and catalogue.exists() and not args.rebuild:
        scenario = Scenario.from_json(json.loads(catalogue.read_text()))
        asked = {"variant": args.variant, "days": args.days, "seed": args.seed, "start": args.start}
        for name, value in asked.items():
            if value is not None and value != getattr(scenario, name):
                raise SystemExit(
                    f"{catalogue}: the warehouse there was built with {name} "
                    f"{getattr(scenario, name)}, not {value}; pass --rebuild or another --dir"
                )
        return scenario, False
    scenario, rows = build(
        directory,
        days=args.days or DEFAULT_DAYS,
        seed=17 if args.seed is None else args.seed,
        variant=args.variant or "normal",
        start=args.start or DEFAULT_START,
    )
    print(f"built {directory / 'warehouse.duckdb'}: {rows:,} rows ({scenario.variant})")
    return scenario, True


FEEDBACK_MODES = ("column", "read", "table")


def monitors_for(directory: Path, feedback: str = "column") -> Path:
    """The soak monitor, with its feedback read as `feedback` says: `column`, every vote on its
    record as if given at once (the scenario's default); `read`, a column the app fills when
    the vote comes, as an hourly run reads it (`requests_read`: late votes missed); `table`,
    the votes logged apart (`source.feedback_table`: counted in the hour they are given)."""
    if feedback == "column":
        return HERE / "monitors.yml"
    text = (HERE / "monitors.yml").read_text()
    if feedback == "read":
        text = text.replace("      table: requests\n", "      table: requests_read\n")
    else:
        text = text.replace("        feedback: feedback\n", "").replace(
            "      negative_feedback: [down]\n",
            "      negative_feedback: [down]\n      feedback_table: {table: votes, "
            "record_id: request_id, value: vote, ts: given_at}\n",
        )
    path = directory / f"monitors-{feedback}.yml"
    path.write_text(text)
    return path


def run_soak(
    directory: Path,
    scenario: Scenario,
    *,
    limit: int | None = None,
    progress: bool = True,
    feedback: str = "column",
) -> tuple[list[WindowRecord], dict[str, int]]:
    """Every window of the scenario through `run_window`, in time order, into a fresh store
    (`feedback`: how the monitor reads feedback, `monitors_for`).

    Returns the window records and the outbox's messages by kind (what Slack would have got)."""
    os.environ.update(QUIET_ENV)
    os.environ["SOAK_DIR"] = str(directory)
    os.environ["SOAK_START"] = scenario.start.isoformat()
    from lookout.config.loader import load_config
    from lookout.notify.channels.files import FileChannel
    from lookout.notify.delivery import deliver
    from lookout.pipeline import Context, run_window
    from lookout.windows import Window

    _fresh_outputs(directory)
    config = load_config(HERE / "profiles.yml", monitors_for(directory, feedback), target="soak")
    monitor = config.monitors.monitors[0]
    ctx = Context.from_config(config)
    channels = {"slack": FileChannel(directory / "outbox")}
    n_windows = int((scenario.end - scenario.start) / scenario.window)
    if limit is not None:
        n_windows = min(n_windows, limit)
    records: list[WindowRecord] = []
    keys: dict[str, AlertKey] = {}
    clock = time.perf_counter()
    try:
        for index in range(n_windows):
            start = scenario.start + index * scenario.window
            window = Window(start, start + scenario.window)
            result = run_window(ctx, monitor, window, as_of=window.end + monitor.window.grace)
            if result.alerts_opened or result.alerts_resolved:
                for alert in ctx.store.alerts(monitor.name):
                    keys[alert.fingerprint] = (alert.rule, alert.release, alert.cohort)
            # the scenario's clock: a day's P2 digest goes out once that day is over
            deliver(ctx.store.outbox_repo, channels, now=window.end + monitor.window.grace)
            records.append(
                WindowRecord(
                    index=index,
                    start=start,
                    status=result.status,
                    rows=result.rows,
                    seconds=result.seconds,
                    opened=[keys[f] for f in result.alerts_opened],
                    resolved=[keys[f] for f in result.alerts_resolved],
                    error=result.error,
                    stage_seconds=dict(result.stage_seconds),
                )
            )
            if progress and (index + 1) % 24 == 0:
                spent = time.perf_counter() - clock
                print(
                    f"  day {(index + 1) // 24:>2}: {index + 1} windows, {spent:.0f} s, "
                    f"{sum(len(r.opened) for r in records)} alerts opened so far",
                    flush=True,
                )
        messages: dict[str, int] = {}
        for message in ctx.store.outbox():
            messages[message.kind] = messages.get(message.kind, 0) + 1
    finally:
        ctx.close()
    return records, messages


# --------------------------------------------------------------------------- report (pure)


def _delay(value: int | None) -> str:
    return "-" if value is None else str(value)


def format_report(
    scenario: Scenario, records: Sequence[WindowRecord], score: Score, messages: dict[str, int]
) -> str:
    """A readable summary: incidents, false alerts, clean days, run time."""
    failed = [r for r in records if r.status != "succeeded"]
    seconds = [r.seconds for r in records]
    lines = [
        f"soak {scenario.variant}: {scenario.days} days from {scenario.start:%Y-%m-%d} "
        f"(seed {scenario.seed}), {len(records)} windows, {sum(r.rows for r in records):,} rows; "
        f"{sum(seconds):.0f} s in run_window ({sum(seconds) / max(len(seconds), 1):.2f} s a "
        f"window, slowest {max(seconds, default=0):.1f} s), {len(failed)} failed windows",
        "",
        f"{'incident':<8} {'family':<14} {'size':<6} {'onset':>5} {'last':>5} {'detect':>7} "
        f"{'resolve':>8} {'episodes':>8}  detected by",
    ]
    for i in score.incidents:
        detect = _delay(i.detect_delay) + ("*" if i.already_firing else "")
        if not i.detected:
            detect = "missed"
        resolve = i.resolve if i.resolve in ("stuck", "open-ended", "missed") else ""
        resolve = resolve or f"{i.resolve_delay}" + (" early" if i.resolve == "early" else "")
        ok = ("" if i.detect_ok else " [detect target missed]") + (
            "" if i.resolve_ok else " [resolve target missed]"
        )
        lines.append(
            f"{i.id:<8} {i.family:<14} {i.size:<6} {i.onset_window:>5} "
            f"{_delay(i.last_window):>5} {detect:>7} {resolve:>8} {i.episodes:>8}  "
            f"{', '.join(i.detected_by) or '-'}{ok}"
        )
    per_clean = score.false_per_clean_day
    lines += [
        "",
        f"detected {score.detected}/{len(score.incidents)} incidents; "
        f"false alerts: {len(score.false_episodes)} ({score.false_per_week:.1f} per week), "
        f"{score.false_on_clean_days} on {len(score.clean_days)} clean days "
        f"{score.clean_days} ({'-' if per_clean is None else f'{per_clean:.1f}'} per clean day)",
    ]
    by_rule = score.to_json()["false_alerts_by_rule"]
    if by_rule:
        lines.append("false alerts by rule: " + ", ".join(f"{k} {v}" for k, v in by_rule.items()))
    if score.still_firing:
        lines.append(
            f"still firing at the end: {len(score.still_firing)} ("
            + "; ".join(e.label for e in score.still_firing[:8])
            + (" ..." if len(score.still_firing) > 8 else "")
            + ")"
        )
    if messages:
        lines.append(
            "messages to Slack (outbox): "
            + ", ".join(f"{k} {v}" for k, v in sorted(messages.items()))
        )
    for name, met in score.meets_targets.items():
        lines.append(f"target {'met' if met else 'NOT met'}: {name}")
    for record in failed[:5]:
        lines.append(f"failed window {record.start:%Y-%m-%d %H:%M}: {record.error}")
    return "\n".join(lines)


def _stage_totals(records: Sequence[WindowRecord]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for record in records:
        for stage, spent in record.stage_seconds.items():
            totals[stage] = totals.get(stage, 0.0) + spent
    return {k: round(v, 2) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def result_json(
    scenario: Scenario,
    records: Sequence[WindowRecord],
    score: Score,
    messages: dict[str, int],
    wall_seconds: float,
) -> dict[str, Any]:
    """Scores, the run's timing and every window's alerts (for RESULTS and later analysis)."""
    return {
        "scenario": scenario.to_json(),
        "score": score.to_json(),
        "run": {
            "windows": len(records),
            "failed_windows": [
                {"window": r.start.isoformat(), "error": r.error}
                for r in records
                if r.status != "succeeded"
            ],
            "rows": sum(r.rows for r in records),
            "wall_seconds": round(wall_seconds, 1),
            "run_window_seconds": round(sum(r.seconds for r in records), 1),
            "stage_seconds": _stage_totals(records),
            "messages": messages,
        },
        "windows": [
            {
                "index": r.index,
                "start": r.start.isoformat(),
                "status": r.status,
                "rows": r.rows,
                "seconds": round(r.seconds, 3),
                "opened": [list(k) for k in r.opened],
                "resolved": [list(k) for k in r.resolved],
            }
            for r in records
            if r.opened or r.resolved or r.status != "succeeded"
        ],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, help="warehouse, store and outbox (default: a temporary folder)"
    )
    parser.add_argument("--variant", choices=("normal", "low"), help="default normal")
    parser.add_argument("--days", type=int, help=f"default {DEFAULT_DAYS}, at least that")
    parser.add_argument("--seed", type=int, help="default 17")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, help=f"day 0, UTC (default {DEFAULT_START:%F})"
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the warehouse")
    parser.add_argument("--windows", type=int, help="only the first N windows (a smoke run)")
    parser.add_argument("--json", help="write the scores, timings and alerts here")
    parser.add_argument(
        "--feedback",
        choices=FEEDBACK_MODES,
        default="column",
        help="column: every vote on its record at once (default); read: a column filled when "
        "the vote comes, as an hourly run reads it; table: the votes logged apart",
    )
    args = parser.parse_args(argv)
    if args.start is not None and args.start.tzinfo is None:
        args.start = args.start.replace(tzinfo=UTC)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    if args.dir is None:
        with tempfile.TemporaryDirectory(prefix="lookout-soak-") as tmp:
            _main(args, Path(tmp))
    else:
        args.dir.mkdir(parents=True, exist_ok=True)
        _main(args, args.dir.resolve())


def _main(args: argparse.Namespace, directory: Path) -> None:
    clock = time.perf_counter()
    scenario, _ = _ensure_warehouse(directory, args)
    started = time.perf_counter()
    records, messages = run_soak(directory, scenario, limit=args.windows, feedback=args.feedback)
    wall = time.perf_counter() - started
    score = score_records(scenario, records)
    print(format_report(scenario, records, score, messages))
    print(f"\nwall time {wall:.0f} s for the windows, {time.perf_counter() - clock:.0f} s in all")
    if args.json:
        per_window = wall / max(len(records), 1)
        rows = [
            row(
                f"soak {scenario.variant}, seconds per window ({len(records)} windows)",
                "run_window + delivery, in time order",
                seconds=per_window,
                baseline_seconds=0.0,
                peak_rss_mb=peak_rss_mb(),
                rows=sum(r.rows for r in records),
                note=(
                    f"detected {score.detected}/{len(score.incidents)}, "
                    f"{len(score.false_episodes)} false alerts "
                    f"({score.false_per_week:.1f}/week, {score.false_on_clean_days} on "
                    f"{len(score.clean_days)} clean days)"
                ),
            )
        ]
        write_json(
            args.json,
            "soak",
            rows,
            soak=result_json(scenario, records, score, messages, wall),
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
