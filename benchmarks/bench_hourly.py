"""End to end: one hourly flow run over a window of N rows, as a ratio to a bare read of it.

The warehouse is the demo's (DuckDB, realistic texts, two releases): two days of history at
~100 rows an hour, then one hour (2026-11-04 00:00-01:00) holding N rows. The history is run
once through the hourly flow into a results store (so release 1 has windows behind it and drift
has a previous release to compare with); every measurement starts from a copy of that store and
runs the real `lookout-hourly` flow (Prefect ephemeral mode) with `as_of` 01:20, so the flow
plans exactly the N-row window and runs every stage on it: read, GX validation, ops metrics,
drift against the previous release, offline evaluators on the 20% failure-biased sample (the
run's judgment budget caps it at 100,000), the Evidently HTML report, rules, alerts delivered
to files. The Prefect API is started before the clock (a no-op flow), so the time is the run's.

The baseline, measured in the same run on the same file, is a bare DuckDB read of the window
(`SELECT *` of its rows into pandas via Arrow). Each measurement runs in a fresh process (peak
RSS is its own, VmHWM; "setup" is the RSS after imports and the API's start, before the clock).
Cost growth: seconds and memory above setup, per size, with the exponent k of time ~ rows^k
between consecutive sizes (1 = linear).

    python benchmarks/bench_hourly.py                          # 10k, 100k, 1M rows, 1 repeat
    python benchmarks/bench_hourly.py --sizes 10000,100000 --repeats 3 --json out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import peak_rss_mb, row, rss_mb, write_json

ROOT = Path(__file__).resolve().parents[1]

HISTORY_START = datetime(2026, 11, 2, tzinfo=UTC)
HISTORY_DAYS = 2
HISTORY_ROWS_PER_HOUR = 100
WINDOW_START = HISTORY_START + timedelta(days=HISTORY_DAYS)  # 2026-11-04 00:00
WINDOW_END = WINDOW_START + timedelta(hours=1)
AS_OF_HISTORY = WINDOW_START + timedelta(minutes=20)
AS_OF = WINDOW_START + timedelta(hours=1, minutes=20)
ENV = {
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "LOOKOUT_TARGET": "dev",
}


def _on_time(frame):
    """Every row ingested 3 s after it happened: no late rows re-open earlier windows."""
    import pandas as pd

    frame["ingested_at"] = frame["event_time"] + pd.Timedelta(seconds=3)
    return frame


def build_warehouse(path: Path, rows: int) -> int:
    """History plus one hour of `rows` rows; returns the rows in that hour."""
    import numpy as np
    import pandas as pd

    from lookout.demo.synthetic import generate_requests, write_duckdb

    history = generate_requests(
        HISTORY_START, HISTORY_DAYS, rows_per_hour=HISTORY_ROWS_PER_HOUR, seed=7
    )
    frames = [_on_time(history)]
    if rows:
        # one day of traffic at rows/24 an hour, squeezed into the hour (seed 8: other ids)
        day = generate_requests(WINDOW_START, 1, rows_per_hour=max(1, rows // 24), seed=8)
        base = np.datetime64(WINDOW_START.replace(tzinfo=None), "us")
        offsets = (day["event_time"].to_numpy() - base) // 24
        day["event_time"] = base + offsets
        frames.append(_on_time(day))
    frame = pd.concat(frames, ignore_index=True)
    write_duckdb(frame, path)
    return len(frame) - len(history)


def _home(work: Path, name: str, warehouse: Path, store_from: Path | None) -> Path:
    """A LOOKOUT_HOME: config, the warehouse (a link), and a copy of the primed store."""
    home = work / name
    home.mkdir(parents=True)
    for config in ("profiles.yml", "monitors.yml"):
        shutil.copyfile(ROOT / config, home / config)
    (home / "warehouse.duckdb").symlink_to(warehouse)
    if store_from is not None:
        shutil.copyfile(store_from, home / "results.sqlite")
    return home


# --------------------------------------------------------------------------- measurements


def measure_bare_read(home: Path) -> dict[str, Any]:
    import duckdb

    setup = rss_mb()
    conn = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    started = time.perf_counter()
    relation = conn.sql(
        "SELECT * FROM app_requests WHERE event_time >= $start AND event_time < $end",
        params={"start": WINDOW_START.replace(tzinfo=None), "end": WINDOW_END.replace(tzinfo=None)},
    )
    frame = relation.to_arrow_table().to_pandas()
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "rows": len(frame), "peak_rss_mb": peak_rss_mb(), "setup_mb": setup}


def measure_hourly(home: Path, as_of: datetime) -> dict[str, Any]:
    from prefect import flow

    from lookout.flows.hourly import hourly

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        """Starts the ephemeral Prefect API before the clock."""

    warm_up()
    setup = rss_mb()
    started = time.perf_counter()
    state = hourly(
        as_of=as_of,
        profiles_path=str(home / "profiles.yml"),
        monitors_path=str(home / "monitors.yml"),
        target="dev",
        return_state=True,
    )
    seconds = time.perf_counter() - started
    summary = state.result()
    results = summary["results"]
    stages: dict[str, float] = {}
    for result in results:
        for stage, spent in result.stage_seconds.items():
            stages[stage] = stages.get(stage, 0.0) + spent
    return {
        "seconds": seconds,
        "rows": sum(r.rows for r in results),
        "windows": len(results),
        "judged": sum(r.judged for r in results),
        "drifted": sum(len(r.drifted) for r in results),
        "stages": stages,
        "peak_rss_mb": peak_rss_mb(),
        "setup_mb": setup,
    }


def _child(kind: str, home: Path, prefect_home: Path, as_of: datetime = AS_OF) -> dict[str, Any]:
    env = {
        **os.environ,
        **ENV,
        "LOOKOUT_HOME": str(home),
        "PREFECT_HOME": str(prefect_home),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("PREFECT_API_URL", None)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--home",
            str(home),
            "--as-of",
            as_of.isoformat(),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} in {home} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


def _exponent(small: tuple[int, float], large: tuple[int, float]) -> float | None:
    (n1, v1), (n2, v2) = small, large
    if n1 <= 0 or n2 <= n1 or v1 <= 0 or v2 <= 0:
        return None
    return math.log(v2 / v1) / math.log(n2 / n1)


def run(sizes: list[int], repeats: int, work: Path) -> tuple[list[dict[str, Any]], list[dict]]:
    prefect_home = work / "prefect"
    clock = time.perf_counter()
    history_wh = work / "history.duckdb"
    build_warehouse(history_wh, 0)
    primed = _home(work, "primed", history_wh, None)
    prime = _child("hourly", primed, prefect_home, as_of=AS_OF_HISTORY)
    print(
        f"history: {prime['windows']} windows, {prime['rows']:,} rows run in "
        f"{time.perf_counter() - clock:.0f} s (store primed)",
        flush=True,
    )
    rows_out: list[dict[str, Any]] = []
    growth: list[dict[str, Any]] = []
    for size in sizes:
        clock = time.perf_counter()
        warehouse = work / f"wh-{size}.duckdb"
        in_window = build_warehouse(warehouse, size)
        print(f"{size:,}: warehouse built in {time.perf_counter() - clock:.0f} s", flush=True)
        samples: dict[str, list[dict[str, Any]]] = {"bare_read": [], "hourly_flow": []}
        for repeat in range(repeats):
            for kind in samples:  # interleaved: drift in machine load hits both alike
                home = _home(work, f"{kind}-{size}-{repeat}", warehouse, primed / "results.sqlite")
                samples[kind].append(
                    _child("hourly" if kind == "hourly_flow" else kind, home, prefect_home)
                )
                shutil.rmtree(home, ignore_errors=True)
        base = statistics.median(s["seconds"] for s in samples["bare_read"])
        group = f"hourly run, {in_window:,} rows (DuckDB)"
        for kind, runs in samples.items():
            seconds = statistics.median(s["seconds"] for s in runs)
            peak = statistics.median(s["peak_rss_mb"] for s in runs)
            note = ""
            if kind == "hourly_flow":
                stages = runs[0]["stages"]
                inside = sum(stages.values())
                top = sorted(stages.items(), key=lambda kv: -kv[1])[:4]
                note = (
                    f"{runs[0]['judged']:,} judgments, {runs[0]['drifted']} drifted columns; "
                    + ", ".join(f"{k} {100 * v / inside:.0f}%" for k, v in top)
                )
                windows = {s["windows"] for s in runs}
                if windows != {1}:
                    raise SystemExit(f"expected one window per hourly run, got {windows}")
            rows_out.append(
                row(
                    group,
                    kind,
                    rows=int(runs[0]["rows"]),
                    seconds=seconds,
                    baseline_seconds=base,
                    peak_rss_mb=peak,
                    repeats=len(runs),
                    baseline=kind == "bare_read",
                    note=note,
                )
            )
            if kind == "hourly_flow":
                setup = statistics.median(s["setup_mb"] for s in runs)
                growth.append(
                    {
                        "rows": int(runs[0]["rows"]),
                        "seconds": seconds,
                        "peak_rss_mb": peak,
                        "setup_mb": setup,
                        "work_mb": max(peak - setup, 0.0),
                        "stages": runs[0]["stages"],
                    }
                )
            print(
                f"{group:<36} {kind:<12} {seconds:>8.2f} s {seconds / base:>8.2f}x "
                f"{peak:>7.0f} MB  {note}",
                flush=True,
            )
        os.unlink(warehouse)
    for before, after in itertools.pairwise(growth):
        after["time_exponent"] = _exponent(
            (before["rows"], before["seconds"]), (after["rows"], after["seconds"])
        )
        after["memory_exponent"] = _exponent(
            (before["rows"], before["work_mb"]), (after["rows"], after["work_mb"])
        )
    return rows_out, growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        home = Path(args.home)
        if args.child == "bare_read":
            result = measure_bare_read(home)
        else:
            result = measure_hourly(home, datetime.fromisoformat(args.as_of))
        print(json.dumps(result))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="lookout-bench-hourly-") as tmp:
        rows_out, growth = run(sizes, args.repeats, Path(tmp))
    print("\ncost growth (hourly flow):")
    print(
        f"{'rows':>10} {'seconds':>8} {'k time':>7} {'peak MB':>8} {'above setup':>12} {'k mem':>6}"
    )
    for g in growth:
        k_time, k_mem = g.get("time_exponent"), g.get("memory_exponent")
        print(
            f"{g['rows']:>10,} {g['seconds']:>8.2f} "
            f"{'-' if k_time is None else f'{k_time:.2f}':>7} {g['peak_rss_mb']:>8.0f} "
            f"{g['work_mb']:>12.0f} {'-' if k_mem is None else f'{k_mem:.2f}':>6}"
        )
    write_json(args.json, "bench_hourly", rows_out, growth=growth)


if __name__ == "__main__":
    main()
