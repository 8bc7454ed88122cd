"""Every benchmark, one after the other, into one markdown table: benchmarks/RESULTS.md.

Each benchmark runs as its own process with `--json` and reports, per measured path, its
median time as a ratio to a baseline measured in the same run on the same data (machines are
noisy; absolute seconds are kept for the record but only ratios compare across machines):

- bench_hourly, end to end (one hourly flow run, every stage): vs a bare read of the window;
  10k, 100k, 1M rows;
- bench_window (read, ops metrics, rules, commit): vs a bare SELECT; 100k and 1M rows on
  DuckDB, 100k on MariaDB, on ClickHouse (chDB) and on Snowflake's emulator (fakesnow, the
  `snowflake-test` extra: its ratios say nothing of a real Snowflake warehouse);
- bench_validation (the GX suite, pushed down and on a DataFrame): vs a bare read of its
  columns; 100k and 1M rows, DuckDB and PostgreSQL;
- bench_drift (Lookout's warehouse histograms): vs Evidently's DataDriftPreset on the raw
  rows; 1M + 1M rows, DuckDB and PostgreSQL;
- bench_judges (LLMJudge, the openai SDK, bare httpx): vs the endpoint's capacity;
- bench_groundedness (the offline evaluator): vs token overlap, on the HaluEval QA sample;
- bench_backfill (the backfill flow, 48 windows): vs a plain run_window loop;
- soak/score.py (two weeks of hourly windows with injected incidents, normal and low traffic):
  seconds per window, and in the note the incidents detected and the false alerts (the
  per-incident table is in the step's JSON and in benchmarks/soak/README.md); ~6 min each.

Cost growth (time and memory from 10k to 1M rows, as exponents) comes from bench_hourly.
Needs PostgreSQL on 127.0.0.1:5432 (LOOKOUT_TEST_PG_URL) for the PostgreSQL rows and MariaDB
on 127.0.0.1:3306 for the MariaDB rows. About 40
minutes on 2 cores (the two soak runs take ~11 of them); `--quick` runs small sizes (a smoke
test of the harness, ~5 minutes; its figures are not worth keeping and it writes
RESULTS-quick.md).

Each step's result is kept in benchmarks/results.json with its commit and time; `--only`
re-runs some steps and rewrites RESULTS.md with their new figures next to the others' kept
ones (each group's ratio still comes from one run; the "Runs" list says which run).

    python benchmarks/run_all.py
    python benchmarks/run_all.py --quick
    python benchmarks/run_all.py --only hourly,judges
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

STORE = HERE / "results.json"  # every step's latest result: what RESULTS.md is made from
ENV = {
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@dataclass(frozen=True)
class Step:
    name: str
    script: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]


STEPS = (
    Step(
        "hourly",
        "bench_hourly.py",
        ("--sizes", "10000,100000,1000000"),
        ("--sizes", "2000,20000"),
    ),
    Step(
        "window",
        "bench_window.py",
        ("--rows", "100000", "--repeats", "3"),
        ("--rows", "20000", "--repeats", "1"),
    ),
    Step("window_1m", "bench_window.py", ("--rows", "1000000", "--repeats", "3"), ()),
    *(
        Step(
            f"window_{backend}",
            "bench_window.py",
            ("--backend", backend, "--rows", "100000", "--repeats", "3"),
            ("--backend", backend, "--rows", "20000", "--repeats", "1"),
        )
        for backend in ("mysql", "clickhouse", "snowflake")
    ),
    Step(
        "validation",
        "bench_validation.py",
        ("--sizes", "100000,1000000", "--backends", "duckdb,postgresql", "--repeats", "2"),
        ("--sizes", "20000", "--backends", "duckdb,postgresql", "--repeats", "1"),
    ),
    Step(
        "drift",
        "bench_drift.py",
        ("--rows", "1000000", "--repeats", "2", "--backends", "duckdb,postgresql"),
        ("--rows", "20000", "--repeats", "1", "--backends", "duckdb"),
    ),
    Step(
        "judges",
        "bench_judges.py",
        ("--records", "3000", "--latency", "0.2", "--concurrency", "32"),
        ("--records", "300", "--latency", "0.05", "--concurrency", "16"),
    ),
    Step("groundedness", "bench_groundedness.py", ("--repeats", "5"), ("--repeats", "1")),
    Step("sketch", "bench_sketch.py", ("--sizes", "10000,100000,1000000"), ("--sizes", "10000")),
    Step(
        "backfill",
        "bench_backfill.py",
        ("--days", "2", "--rows", "100000", "--baseline", "24"),
        ("--days", "1", "--rows", "10000", "--baseline", "6"),
    ),
    Step(
        "soak", "soak/score.py", ("--variant", "normal"), ("--variant", "normal", "--windows", "24")
    ),
    Step(
        "soak_low", "soak/score.py", ("--variant", "low"), ("--variant", "low", "--windows", "24")
    ),
)


# --------------------------------------------------------------------------- rendering (pure)


def _num(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _cell(text: str | None) -> str:
    """Text safe inside a markdown table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def results_table(results: list[dict[str, Any]]) -> list[str]:
    """One row per measured path, grouped, the baseline of each group first."""
    lines = [
        "| benchmark | compared on | path | rows | seconds | vs baseline | peak RSS MB | note |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        seen: list[str] = []
        for r in result["rows"]:
            if r["group"] not in seen:
                seen.append(r["group"])
        for group in seen:
            members = [r for r in result["rows"] if r["group"] == group]
            members.sort(key=lambda r: not r["baseline"])
            for r in members:
                path = f"**{r['path']}** (baseline)" if r["baseline"] else r["path"]
                rows = _num(r["rows"], ",")
                lines.append(
                    f"| {result['benchmark']} | {group} | {path} | {rows} | "
                    f"{_num(r['seconds'], '.3f')} | {_ratio(r['ratio'])} | "
                    f"{_num(r['peak_rss_mb'], ',.0f')} | {_cell(r['note'])} |"
                )
    return lines


def growth_table(growth: list[dict[str, Any]]) -> list[str]:
    """Time and memory of the hourly run per size; k is the exponent against the size before."""
    lines = [
        "| rows in the window | seconds | k (time) | peak RSS MB | above setup MB | k (memory) "
        "| where the time goes |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for g in growth:
        stages = g.get("stages") or {}
        inside = sum(stages.values()) or 1.0
        split = ", ".join(
            f"{name} {100 * spent / inside:.0f}%"
            for name, spent in sorted(stages.items(), key=lambda kv: -kv[1])[:5]
        )
        lines.append(
            f"| {g['rows']:,} | {g['seconds']:.2f} | {_num(g.get('time_exponent'), '.2f')} | "
            f"{g['peak_rss_mb']:,.0f} | {g['work_mb']:,.0f} | "
            f"{_num(g.get('memory_exponent'), '.2f')} | {split} |"
        )
    return lines


def render(
    results: list[dict[str, Any]],
    failures: list[str],
    *,
    info: dict[str, Any],
    commit: str,
    started: datetime,
    minutes: float,
    command: str,
) -> str:
    out = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC, commit `{commit}`"
        + (
            f", in {minutes:.0f} minutes."
            if minutes
            else "; the Runs list at the end says when and at which commit each step ran."
        ),
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}, {info['system']}.",
        "",
        "Every ratio is a median time divided by the baseline of the same group, measured in "
        "the same run on the same data (lower is faster; 1.00x is the baseline). Peak RSS is "
        "the measuring process's own (VmHWM). Absolute seconds are for the record: machines "
        "and runs differ, ratios compare.",
        "",
    ]
    hourly = next((r for r in results if r["benchmark"] == "bench_hourly"), None)
    if hourly is not None:
        out += [
            "## End to end: one hourly flow run",
            "",
            "The real `lookout-hourly` flow (Prefect, ephemeral API started before the clock) on "
            "one window of the demo warehouse holding N rows of release 2's traffic (its "
            "injected incidents drift): GX validation, ops metrics, drift against the previous "
            "release, offline evaluators on the 20% failure-biased sample (thinned to about "
            "20,000 records: `sampling.max_records`), the day's Evidently HTML reports (the "
            "first drifted window of a day writes them: the worst hour), rules, alerts to files. "
            "Baseline: a bare DuckDB read of the window's rows.",
            "",
            *results_table([hourly]),
            "",
            "### Cost growth",
            "",
            "k is the exponent of growth against the size before (time ~ rows^k): 1 is linear, "
            "below 1 sublinear. Memory is the peak above the process's RSS before the run "
            "(interpreter, imports, the Prefect client).",
            "",
            *growth_table(hourly.get("growth", [])),
            "",
        ]
    others = [r for r in results if r["benchmark"] != "bench_hourly"]
    if others:
        out += ["## Stage benchmarks", "", *results_table(others), ""]
    if failures:
        out += ["## Failed", "", *(f"- {f}" for f in failures), ""]
    runs = [r for r in results if r.get("step")]
    if runs:
        out += ["## Runs", ""]
        out += [
            f"- {r['step']} ({r['benchmark']}): {r.get('ran_at', '?')}, commit "
            f"`{r.get('commit', '?')}`, {r.get('minutes', 0):.1f} min"
            for r in runs
        ]
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- driver


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else []


def merge(previous: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step's latest result, in the order of STEPS."""
    latest = {r.get("step"): r for r in previous} | {r["step"]: r for r in fresh}
    return [latest[s.name] for s in STEPS if s.name in latest]


def run_step(step: Step, quick: bool, tmp: Path) -> dict[str, Any]:
    out = tmp / f"{step.name}.json"
    argv = [sys.executable, str(HERE / step.script), *(step.quick_args if quick else step.args)]
    argv += ["--json", str(out)]
    print(f"\n=== {step.name}: {' '.join(argv[1:])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **ENV})
    if done.returncode != 0:
        raise RuntimeError(f"{step.script} exited {done.returncode}")
    result = json.loads(out.read_text())
    result["minutes"] = (time.perf_counter() - started) / 60
    result["step"] = step.name
    result["commit"] = _commit()
    result["ran_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"=== {step.name}: {result['minutes']:.1f} min", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument(
        "--only", help="comma-separated step names: " + ",".join(s.name for s in STEPS)
    )
    parser.add_argument(
        "--out", help="default benchmarks/RESULTS.md (RESULTS-quick.md with --quick)"
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite RESULTS.md from results.json"
    )
    args = parser.parse_args()
    if args.render:
        text = render(
            _load(STORE),
            [],
            info=machine(),
            commit=_commit(),
            started=datetime.now(UTC),
            minutes=0,
            command="python benchmarks/run_all.py --render",
        )
        (HERE / "RESULTS.md").write_text(text + "\n")
        return
    chosen = [s for s in STEPS if not args.only or s.name in args.only.split(",")]
    if args.quick:
        chosen = [s for s in chosen if s.quick_args]
    target = (
        Path(args.out) if args.out else HERE / ("RESULTS-quick.md" if args.quick else "RESULTS.md")
    )
    started, clock = datetime.now(UTC), time.perf_counter()
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lookout-run-all-") as tmp:
        for step in chosen:
            try:
                results.append(run_step(step, args.quick, Path(tmp)))
            except Exception as exc:  # one broken benchmark must not hide the others
                failures.append(f"{step.name}: {exc}")
                print(f"=== {step.name} FAILED: {exc}", flush=True)
    if not args.quick:  # a partial run refreshes its steps and keeps the others' figures
        results = merge(_load(STORE), results)
        STORE.write_text(json.dumps(results, indent=1, default=str) + "\n")
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    if args.only:
        command += f" --only {args.only}"
    text = render(
        results,
        failures,
        info=machine(),
        commit=_commit(),
        started=started,
        minutes=(time.perf_counter() - clock) / 60,
        command=command,
    )
    target.write_text(text + "\n")
    print(f"\nwrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    if failures:
        raise SystemExit(f"{len(failures)} benchmark(s) failed: {'; '.join(failures)}")


if __name__ == "__main__":
    main()
