"""A 30-day hourly backfill (720 windows) of a 1M-row demo warehouse through the backfill flow.

Prints the total time, the time per window, and where it goes: the stages inside `run_window`
(summed from each window's own stage timings) versus Prefect's overhead (the flow's wall time
minus the time spent inside `run_window`: task and flow-run bookkeeping, API calls, artifacts).
The baseline, measured in the same run, is the first `--baseline` windows (48) in a plain
Python loop (no Prefect) against the same windows through the backfill flow, each into an empty
store: the ratio of per-window times is the cost of orchestration on the same work.

Runs in Prefect's ephemeral mode (a temporary API in a subprocess, as `lookout run` does) with
PREFECT_HOME in a temporary directory.

    python benchmarks/bench_backfill.py                     # 30 days, 1M rows, concurrency 1
    python benchmarks/bench_backfill.py --days 3 --rows 100000 --concurrency 2
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import peak_rss_mb as _peak_rss_mb
from _results import reset_peak_rss as _reset_peak_rss
from _results import row, write_json

ROOT = Path(__file__).resolve().parents[1]


def _write_json(
    path: str | None,
    n_first: int,
    plain: float,
    flow_first: float,
    n: int,
    total: float,
    busy: float,
    stage_totals: dict[str, float],
) -> None:
    """For run_all.py: seconds per window, the plain loop being the baseline."""
    inside = sum(stage_totals.values()) or 1.0
    stages = ", ".join(
        f"{stage} {100 * seconds / inside:.0f}%"
        for stage, seconds in sorted(stage_totals.items(), key=lambda kv: -kv[1])[:4]
    )
    group = f"backfill, seconds per window ({n} windows)"
    rows = [
        row(
            group,
            f"plain run_window loop, first {n_first}",
            seconds=plain,
            baseline_seconds=plain,
            peak_rss_mb=None,
            baseline=True,
        ),
        row(
            group,
            f"backfill flow, first {n_first}",
            seconds=flow_first,
            baseline_seconds=plain,
            peak_rss_mb=None,
            note="includes the ephemeral API's start",
        ),
        row(
            group,
            f"backfill flow, all {n}",
            seconds=total / n,
            baseline_seconds=0.0,  # other windows than the baseline's (warm caches): no ratio
            peak_rss_mb=_peak_rss_mb(),
            note=f"Prefect overhead {100 * (total - busy) / total:.1f}%; {stages}",
        ),
    ]
    write_json(path, "bench_backfill", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--baseline", type=int, default=48, help="first windows run with and without Prefect"
    )
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lookout-bench-backfill-"))
    os.environ.update(
        {
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "PREFECT_HOME": str(work / "prefect"),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "LOOKOUT_HOME": str(work),
            "LOOKOUT_TARGET": "dev",
        }
    )
    os.environ.pop("PREFECT_API_URL", None)
    sys.path.insert(0, str(ROOT))

    from pydantic import SecretStr

    from lookout.config.loader import load_config
    from lookout.demo.runner import config_dir
    from lookout.demo.synthetic import generate_requests, write_duckdb
    from lookout.flows.backfill import build_backfill_flow
    from lookout.pipeline import Context, run_window
    from lookout.runtime.context import open_context
    from lookout.windows import windows_between

    for name in ("profiles.yml", "monitors.yml"):
        shutil.copyfile(config_dir() / name, work / name)
    per_hour = max(1, args.rows // (24 * args.days))
    # the period ends before today, so every window is complete (a backfill never runs windows
    # that have not ended yet)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=args.days + 1)
    clock = time.perf_counter()
    rows = write_duckdb(
        generate_requests(start, args.days, rows_per_hour=per_hour), work / "warehouse.duckdb"
    )
    print(
        f"warehouse: {rows:,} rows over {args.days} days ({time.perf_counter() - clock:.1f} s, "
        f"peak RSS {_peak_rss_mb():.0f} MB while building it)"
    )
    gc.collect()
    _reset_peak_rss()
    end = start + timedelta(days=args.days)
    profiles, monitors = str(work / "profiles.yml"), str(work / "monitors.yml")

    config = load_config(Path(profiles), Path(monitors), target="dev")
    monitor = config.monitors.monitors[0]
    every = windows_between(start, end, monitor.window.size)
    backfill = build_backfill_flow([monitor.name])

    def with_store(name: str) -> tuple[str, str]:
        """A copy of profiles.yml whose store is `name` (each measurement starts empty)."""
        url = f"sqlite:///{work / name}"
        text = Path(profiles).read_text().replace("/results.sqlite", f"/{name}")
        path = work / f"profiles-{name}.yml"
        path.write_text(text)
        return str(path), url

    def run_flow(windows_end, name: str) -> tuple[float, dict]:
        path, _ = with_store(name)
        clock = time.perf_counter()
        state = backfill(
            start=start,
            end=windows_end,
            monitor=monitor.name,
            concurrency=args.concurrency,
            profiles_path=path,
            monitors_path=monitors,
            target="dev",
            return_state=True,
        )
        return time.perf_counter() - clock, state.result()

    # Baseline: the first --baseline windows in a plain loop, then the same windows through
    # the backfill flow, each into an empty store (same work, with and without Prefect).
    first = every[: args.baseline]
    _, base_url = with_store("baseline.sqlite")
    target = config.target.model_copy(
        update={"store": config.target.store.model_copy(update={"url": SecretStr(base_url)})}
    )
    with open_context(config=dataclasses.replace(config, target=target)) as opened:
        ctx = Context.from_runtime(opened)
        clock = time.perf_counter()
        for window in first:
            result = run_window(ctx, monitor, window, as_of=end + timedelta(days=1), notify=False)
            assert result.status == "succeeded", result.error
        plain = (time.perf_counter() - clock) / len(first)
        ctx.close()  # the validation runner too
    small, _ = run_flow(first[-1].end, "baseline-flow.sqlite")
    print(
        f"first {len(first)} windows: plain loop {plain:.3f} s per window, backfill flow "
        f"{small / len(first):.3f} s per window (flow / plain = {small / len(first) / plain:.2f}x,"
        " including the ephemeral API's start)"
    )

    total, summary = run_flow(end, "results.sqlite")
    with open_context(with_store("results.sqlite")[0], monitors, "dev") as opened:
        runs = [r for r in opened.store.runs(monitor.name) if r["status"] == "succeeded"]
    inside = sum((r["finished_at"] - r["started_at"]).total_seconds() for r in runs)
    n = len(summary["windows"])
    stage_totals: dict[str, float] = {}
    for result in summary["results"]:  # each window's own stage timings
        for stage, seconds in result.stage_seconds.items():
            stage_totals[stage] = stage_totals.get(stage, 0.0) + seconds
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"windows: {n} (expected {len(every)})")
    print(f"total: {total:.1f} s, per window: {total / n:.3f} s (concurrency {args.concurrency})")
    busy = inside / args.concurrency
    print(
        f"inside run_window: {inside:.1f} s ({100 * busy / total:.1f}% of wall time); "
        f"Prefect overhead: {total - busy:.1f} s ({100 * (total - busy) / total:.1f}%), "
        f"{(total - busy) / n * 1000:.0f} ms per window"
    )
    print(
        "stages: "
        + ", ".join(
            f"{stage} {seconds:.1f} s ({100 * seconds / inside:.0f}%)"
            for stage, seconds in sorted(stage_totals.items(), key=lambda kv: -kv[1])
        )
    )
    print(f"peak RSS after building the warehouse (plain loop and flows): {_peak_rss_mb():.0f} MB")
    _write_json(args.json, len(first), plain, small / len(first), n, total, busy, stage_totals)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
