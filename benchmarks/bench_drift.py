"""Drift of a 1M-row window against a 1M-row reference: Lookout's warehouse histograms vs
Evidently's DataDriftPreset on the raw rows, on DuckDB and PostgreSQL (and SQLite).

One table `app_requests` with a release column: release A over one day (the reference, the
previous release's last day), release B over the next day (the window). Ten drift columns;
latency_ms is +30% and the route mix moved in B (real drift), ttft_ms is +1% (a shift under
Evidently's 0.1 Wasserstein threshold: both should call it not drifted), the rest unchanged.

- lookout_cold: `run_drift` (reference=previous_release, lookback 1d, cohorts off; daily
  windows, so the 24-hour drift period is the window itself) with an empty profile cache:
  release lookups, the window's and the reference's drift summaries (sketches, category
  counts), verdicts. The store is a temp SQLite file that knows release A's first-seen window.
- lookout_cached: the same with the reference's summaries already cached (the second night).
- lookout_cohorts: cold, with the three cohort dimensions (route, plan, region) too (and the
  attribution check: the shift is everywhere, so no cohort explains the release).
- evidently: read the ten raw columns of both sides (DuckDB: Arrow fetch; PostgreSQL: psycopg
  `COPY (SELECT ...) TO STDOUT` CSV parsed by pyarrow.csv; SQLite: pandas.read_sql), then
  `Report([DataDriftPreset()]).run(current, reference)`; time includes the read.

Each measurement runs in a fresh process (peak RSS is its own, VmHWM) and is repeated (kinds
interleaved); medians are shown, ratios are against lookout_cold of the same backend and run.
The secondary rows (lookout_cohorts, SQLite) run --extra-repeats times. The generated DuckDB
file is cached in the temp dir per row count; PostgreSQL gets it by COPY into a database of its
own (`lookout_bench_drift`, dropped at the end), SQLite by executemany.

    python benchmarks/bench_drift.py --backends duckdb,postgresql,sqlite   # 1M + 1M, 3 repeats
    python benchmarks/bench_drift.py --rows 100000 --repeats 1             # smoke, ~30 s
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import row, write_json
from _results import rss_mb as _rss_mb
from bench_window import _peak_rss_mb

PG_URL = os.environ.get("LOOKOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DB = "lookout_bench_drift"
CACHE_VERSION = "v1"  # bump when the generated data changes

DAY_A = datetime(2026, 11, 1, tzinfo=UTC)  # reference: release A
DAY_B = DAY_A + timedelta(days=1)  # window: release B
RELEASE_A, RELEASE_B = "support-v7", "support-v8"
MONITOR = "support_bot"
NUMERIC = ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "cost_usd")
CATEGORICAL = ("route", "status", "is_fallback", "plan", "region")
COLUMNS = NUMERIC + CATEGORICAL
EXPECTED = {"latency_ms", "route"}
LEVELS = {
    "route": ("faq", "search", "account", "fallback"),
    "status": ("ok", "error"),
    "plan": ("free", "pro", "enterprise"),
    "region": ("us", "eu", "apac"),
}
KINDS = ("lookout_cold", "lookout_cached", "lookout_cohorts", "evidently")

# --------------------------------------------------------------------------- data


def _side(rows: int, start: datetime, release: str, shifted: bool, seed: int):
    """One day of one release as an Arrow table (vectorised numpy: ~0.3 s per 1M rows)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    offsets = (np.arange(rows, dtype=np.int64) * 86_400_000_000) // rows
    moments = np.datetime64(start.replace(tzinfo=None), "us") + offsets.astype("timedelta64[us]")

    def pick(name: str, shares: tuple[float, ...]):
        codes = rng.choice(len(shares), size=rows, p=shares).astype(np.int8)
        return pa.DictionaryArray.from_arrays(codes, pa.array(LEVELS[name]))

    route = (0.25, 0.30, 0.25, 0.20) if shifted else (0.40, 0.30, 0.20, 0.10)
    return pa.table(
        {
            "request_id": np.arange(rows, dtype=np.int64) + (rows if shifted else 0),
            "event_time": moments,
            "release": pa.DictionaryArray.from_arrays(
                np.zeros(rows, dtype=np.int8), pa.array([release])
            ),
            "latency_ms": rng.lognormal(7.0, 0.5, rows) * (1.3 if shifted else 1.0),
            "ttft_ms": (300 + 200 * rng.random(rows)) * (1.01 if shifted else 1.0),
            "prompt_tokens": rng.integers(200, 1000, rows, dtype=np.int32),
            "completion_tokens": rng.integers(20, 320, rows, dtype=np.int32),
            "cost_usd": 0.0001 + 0.002 * rng.random(rows),
            "route": pick("route", route),
            "status": pick("status", (0.99, 0.01)),
            "is_fallback": rng.random(rows) < 0.1,
            "plan": pick("plan", (0.5, 0.35, 0.15)),
            "region": pick("region", (0.5, 0.3, 0.2)),
        }
    )


def build_duckdb(rows: int) -> Path:
    """The warehouse file, cached under the temp dir per row count (built once, ~2 s at 1M)."""
    import duckdb

    path = Path(tempfile.gettempdir()) / f"lookout-bench-drift-{CACHE_VERSION}-{rows}.duckdb"
    if path.exists():
        return path
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    conn = duckdb.connect(str(partial))
    conn.register("side_a", _side(rows, DAY_A, RELEASE_A, False, 1))
    conn.register("side_b", _side(rows, DAY_B, RELEASE_B, True, 2))
    cast = ", ".join(
        f"{c}::VARCHAR AS {c}" if c in (*LEVELS, "release") else c
        for c in ("request_id", "event_time", "release", *COLUMNS)
    )
    conn.execute(
        f"CREATE TABLE app_requests AS SELECT {cast} FROM side_a "
        f"UNION ALL SELECT {cast} FROM side_b"
    )
    conn.close()
    partial.replace(path)
    return path


def _pg_conninfo(database: str) -> str:
    import sqlalchemy as sa

    url = sa.engine.make_url(PG_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def build_postgres(duck: Path, tmp: Path) -> str:
    """A fresh database with the same rows as the DuckDB file (CSV export + COPY)."""
    import duckdb
    import psycopg
    import sqlalchemy as sa

    admin_db = sa.engine.make_url(PG_URL).database or "postgres"
    with psycopg.connect(_pg_conninfo(admin_db), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DB}"')
    csv = tmp / "app_requests.csv"
    with duckdb.connect(str(duck), read_only=True) as conn:
        conn.execute("SET enable_progress_bar = false")
        conn.execute(f"COPY app_requests TO '{csv}' (FORMAT csv, HEADER false)")
    with psycopg.connect(_pg_conninfo(PG_DB)) as conn:
        conn.execute(
            """
            CREATE TABLE app_requests (
                request_id bigint, event_time timestamp, release text,
                latency_ms double precision, ttft_ms double precision,
                prompt_tokens integer, completion_tokens integer, cost_usd double precision,
                route text, status text, is_fallback boolean, plan text, region text
            )
            """
        )
        with (
            conn.cursor().copy("COPY app_requests FROM STDIN (FORMAT csv)") as copy,
            csv.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.execute("CREATE INDEX ON app_requests (event_time)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE app_requests")
    csv.unlink()
    url = sa.engine.make_url(PG_URL).set(database=PG_DB)
    return url.render_as_string(hide_password=False)


def drop_postgres() -> None:
    import psycopg
    import sqlalchemy as sa

    admin_db = sa.engine.make_url(PG_URL).database or "postgres"
    with psycopg.connect(_pg_conninfo(admin_db), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def build_sqlite(duck: Path, tmp: Path) -> str:
    """The same rows in SQLite; times as SQLAlchemy's DATETIME text (what Lookout binds)."""
    import duckdb

    path = tmp / "warehouse.sqlite"
    select = ", ".join(
        "strftime(event_time, '%Y-%m-%d %H:%M:%S.%f') AS event_time" if c == "event_time" else c
        for c in ("request_id", "event_time", "release", *COLUMNS)
    )
    types = ["INTEGER", "TIMESTAMP", "TEXT", *["REAL"] * 2, "INTEGER", "INTEGER", "REAL"]
    types += ["TEXT", "TEXT", "BOOLEAN", "TEXT", "TEXT"]
    names = ("request_id", "event_time", "release", *COLUMNS)
    target = sqlite3.connect(path)
    target.execute(
        "CREATE TABLE app_requests ("
        + ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))
        + ")"
    )
    marks = ", ".join("?" * len(names))
    with duckdb.connect(str(duck), read_only=True) as conn:
        conn.execute("SET enable_progress_bar = false")
        result = conn.execute(f"SELECT {select} FROM app_requests")
        while batch := result.fetchmany(100_000):
            target.executemany(f"INSERT INTO app_requests VALUES ({marks})", batch)
    target.execute("CREATE INDEX ix_event_time ON app_requests (event_time)")
    target.commit()
    target.close()
    return f"sqlite:///{path}"


# --------------------------------------------------------------------------- Lookout


def _monitor(cohorts: bool):
    from lookout.config.models import Monitor

    columns = {
        "record_id": "request_id",
        "ts": "event_time",
        "model_version": "release",
        **{c: c for c in ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens")},
        **{c: c for c in ("cost_usd", "route", "status", "is_fallback")},
    }
    return Monitor.model_validate(
        {
            "name": MONITOR,
            "source": {
                "table": "app_requests",
                "columns": columns,
                "release": ["model_version"],
                "cohorts": ["route", "plan", "region"],
                "ok_statuses": ["ok"],
            },
            "window": {"size": "1d", "start": DAY_A},
            "drift": {
                "enabled": True,
                "reference": {"kind": "previous_release", "lookback": "1d"},
                "cohorts": cohorts,
                "min_n": 100,
                "correction": "holm",
            },
        }
    )


def _seed_store(store) -> None:
    """The store's memory of the previous night: release A first seen on day A."""
    from lookout.model.aggregates import MetricValue
    from lookout.store import WindowCommit
    from lookout.windows import Window

    window = Window(DAY_A, DAY_A + timedelta(days=1))
    store.commit_window(
        WindowCommit(
            run_id="bench-seed",
            monitor=MONITOR,
            window=window,
            started_at=DAY_B,
            finished_at=DAY_B,
            rows_read=0,  # only the first-seen date matters here
            metric_path="pushdown",
            metrics=[MetricValue(RELEASE_A, "*", "request_count", 0.0, 0)],
            initial_frontier=DAY_A,
        )
    )


def _timed(func, timings: dict[str, float], name_of):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            name = name_of(args, kwargs)
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def measure_lookout(kind: str, url: str, store_path: Path) -> dict[str, Any]:
    from lookout.config.loader import LookoutConfig
    from lookout.config.models import MonitorsFile, Target
    from lookout.runtime.context import open_context
    from lookout.windows import Window

    monitor = _monitor(cohorts=kind == "lookout_cohorts")
    window = Window(DAY_B, DAY_B + timedelta(days=1))
    fresh = not store_path.exists()
    # the warehouse and store opened as a run opens them (read-only warehouse, timeouts)
    target = Target.model_validate(
        {"warehouse": {"url": url}, "store": {"url": f"sqlite:///{store_path}"}}
    )
    config = LookoutConfig(target, MonitorsFile.model_validate({"monitors": [monitor]}))
    with open_context(config=config) as opened:
        if fresh:
            _seed_store(opened.store)
        return _run_drift(kind, opened.warehouse, opened.store, monitor, window)


def _run_drift(kind: str, warehouse, store, monitor, window) -> dict[str, Any]:
    from lookout.stages.drift import pooling, stage

    warehouse.check_monitor(monitor)  # reflection (and the first connection) not measured
    # Where the time goes: the warehouse steps, timed where run_drift calls them.
    setup_rss = _rss_mb()
    timings: dict[str, float] = {}
    stage.window_summaries = _timed(stage.window_summaries, timings, lambda a, k: "cur_sum")
    pooling.window_summaries = _timed(pooling.window_summaries, timings, lambda a, k: "ref_sum")
    stage.cross_summaries = _timed(stage.cross_summaries, timings, lambda a, k: "attribution")
    pooling.cross_summaries = _timed(pooling.cross_summaries, timings, lambda a, k: "attribution")
    started = time.perf_counter()
    outcome = stage.run_drift(warehouse, store, monitor, window, window.end + timedelta(hours=1))
    seconds = time.perf_counter() - started
    want_cached = kind == "lookout_cached"
    if (outcome.profiles_cached, outcome.profiles_computed) != (int(want_cached), 1 - want_cached):
        raise SystemExit(
            f"{kind}: profiles cached {outcome.profiles_cached}, "
            f"computed {outcome.profiles_computed}; no reference for {outcome.no_reference}"
        )
    overall = [r for r in outcome.rows if r.release == RELEASE_B and r.cohort == "*"]
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "setup_rss_mb": setup_rss,
        "drifted": sorted(r.column for r in overall if r.drifted),
        "scores": {r.column: [r.method, r.score] for r in overall},
        "n": [max((r.n_reference for r in overall), default=0), max(r.n_current for r in overall)],
        "verdicts": len(outcome.rows),
        "drifted_groups": len(outcome.drifted_groups()),
        "parts": timings,
    }


# --------------------------------------------------------------------------- Evidently


def _side_sql(param: str) -> str:
    columns = ", ".join(COLUMNS)
    return (
        f"SELECT {columns} FROM app_requests WHERE event_time >= {param} "
        f"AND event_time < {param} AND release = {param}"
    )


def _read_duckdb(url: str, start: datetime, end: datetime, release: str):
    import duckdb

    with duckdb.connect(url.removeprefix("duckdb:///"), read_only=True) as conn:
        conn.execute("SET enable_progress_bar = false")
        table = conn.execute(_side_sql("?"), [start, end, release]).to_arrow_table()
    return table.to_pandas()


def _read_postgres(start: datetime, end: datetime, release: str):
    """COPY ... TO STDOUT as CSV, parsed by pyarrow (faster than pandas.read_sql's rows)."""
    import psycopg
    from psycopg import sql
    from pyarrow import csv

    query = sql.SQL(_side_sql("{}")).format(
        sql.Literal(start), sql.Literal(end), sql.Literal(release)
    )
    buffer = io.BytesIO()
    with psycopg.connect(_pg_conninfo(PG_DB)) as conn, conn.cursor() as cur:
        copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(query)
        with cur.copy(copy_sql) as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    options = csv.ConvertOptions(true_values=["t"], false_values=["f"])
    return csv.read_csv(buffer, convert_options=options).to_pandas()


def _read_sqlite(url: str, start: datetime, end: datetime, release: str):
    import pandas as pd

    times = [f"{start:%Y-%m-%d %H:%M:%S.%f}", f"{end:%Y-%m-%d %H:%M:%S.%f}"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        frame = pd.read_sql(_side_sql("?"), conn, params=[*times, release])
    frame["is_fallback"] = frame["is_fallback"].astype(bool)
    return frame


def _read_sides(url: str):
    """(current, reference) raw columns: the read a plain Evidently job does."""
    sides = []
    for day, release in ((DAY_B, RELEASE_B), (DAY_A, RELEASE_A)):
        start, end = day.replace(tzinfo=None), (day + timedelta(days=1)).replace(tzinfo=None)
        if url.startswith("duckdb"):
            sides.append(_read_duckdb(url, start, end, release))
        elif url.startswith("postgresql"):
            sides.append(_read_postgres(start, end, release))
        else:
            sides.append(_read_sqlite(url, start, end, release))
    return sides[0], sides[1]


def _evidently_drifted(snapshot) -> tuple[list[str], dict[str, list]]:
    """Per-column verdicts from the snapshot: each ValueDrift metric's score vs its threshold
    (p-value methods drift below it, distances at or above it, as Evidently's stattests do)."""
    drifted, scores = [], {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        score, threshold = float(metric["value"]), float(config["threshold"])
        is_p = "p_value" in config["method"]
        if (score < threshold) if is_p else (score >= threshold):
            drifted.append(config["column"])
        scores[config["column"]] = [config["method"], score]
    return sorted(drifted), scores


def measure_evidently(url: str) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    setup_rss = _rss_mb()
    started = time.perf_counter()
    current, reference = _read_sides(url)
    read = time.perf_counter() - started
    definition = DataDefinition(
        numerical_columns=list(NUMERIC), categorical_columns=list(CATEGORICAL)
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    drifted, scores = _evidently_drifted(snapshot)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "setup_rss_mb": setup_rss,
        "drifted": drifted,
        "scores": scores,
        "n": [len(reference), len(current)],
        "parts": {"read": read, "report": seconds - read},
    }


# --------------------------------------------------------------------------- driver


def _child(kind: str, url: str, store: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--store", str(store)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def _parts(samples: list[dict[str, Any]]) -> str:
    order = ("cur_sum", "ref_sum", "attribution", "read", "report")
    names = sorted({n for s in samples for n in s["parts"]}, key=order.index)
    return ", ".join(
        f"{n} {statistics.median(s['parts'].get(n, 0.0) for s in samples):.2f}" for n in names
    )


def run_backend(
    backend: str, url: str, kinds: tuple[str, ...], repeats: dict[str, int], tmp: Path
) -> dict[str, list[dict[str, Any]]]:
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    primed = tmp / f"{backend}-primed.sqlite"
    for repeat in range(max(repeats.values())):
        for kind in kinds:  # interleaved, so drift in machine load hits all alike
            if repeat >= repeats[kind]:
                continue
            store = tmp / f"{backend}-{kind}-{repeat}.sqlite"
            if kind == "lookout_cached":
                shutil.copy(primed, store)
            samples[kind].append(_child(kind, url, store))
            if kind == "lookout_cold" and not primed.exists():
                shutil.copy(store, primed)  # the profile cache the next night finds
    return samples


def _rows(backend: str, rows: int, samples: dict[str, list[dict[str, Any]]]) -> list[str]:
    base = _median(samples["lookout_cold"], "seconds")
    out = []
    for kind, runs in samples.items():
        seconds = _median(runs, "seconds")
        out.append(
            f"| {backend} | {rows:,} | {kind} | {len(runs)} | {seconds:.2f} | "
            f"{seconds / base:.2f}x | {_median(runs, 'peak_rss_mb'):.0f} | "
            f"{_median(runs, 'setup_rss_mb'):.0f} | {', '.join(runs[0]['drifted']) or '-'} | "
            f"{_parts(runs)} |"
        )
    return out


def _json_rows(
    backend: str, rows: int, samples: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """For run_all.py: the baseline is Evidently on the raw rows (read + report)."""
    base = _median(samples["evidently"], "seconds")
    return [
        row(
            f"drift, {rows:,} + {rows:,} rows ({backend})",
            kind,
            rows=2 * rows,
            seconds=_median(runs, "seconds"),
            baseline_seconds=base,
            peak_rss_mb=_median(runs, "peak_rss_mb"),
            repeats=len(runs),
            baseline=kind == "evidently",
            note="drifted: " + (", ".join(runs[0]["drifted"]) or "-"),
        )
        for kind, runs in sorted(samples.items(), key=lambda kv: kv[0] != "evidently")
    ]


def _summary(backend: str, samples: dict[str, list[dict[str, Any]]]) -> str:
    cold = _median(samples["lookout_cold"], "seconds")
    evidently = _median(samples["evidently"], "seconds")
    look = set(samples["lookout_cold"][0]["drifted"])
    evid = set(samples["evidently"][0]["drifted"])
    lookout_peak = max(
        _median(runs, "peak_rss_mb") for kind, runs in samples.items() if kind != "evidently"
    )
    n_ref, n_cur = samples["lookout_cold"][0]["n"]
    speed = [f"cold {evidently / cold:.1f}x"]
    for kind in ("lookout_cached", "lookout_cohorts"):
        if kind in samples:
            speed.append(f"{kind[8:]} {evidently / _median(samples[kind], 'seconds'):.1f}x")
    return (
        f"- {backend} ({n_ref:,} reference vs {n_cur:,} current rows): Evidently / Lookout "
        f"{', '.join(speed)} (target >= 10x); Lookout peak RSS {lookout_peak:.0f} MB "
        f"({'<' if lookout_peak < 512 else '>='} 512 MiB target); drifted columns "
        f"{'AGREE' if look == evid else 'DIFFER'}: Lookout {sorted(look)}, "
        f"Evidently {sorted(evid)} (injected: {sorted(EXPECTED)})"
    )


def _score_table(backend: str, samples: dict[str, list[dict[str, Any]]]) -> list[str]:
    look = samples["lookout_cold"][0]["scores"]
    evid = samples["evidently"][0]["scores"]
    lines = [
        f"| {backend}: column | Lookout method | Lookout score | Evidently method | "
        "Evidently score |",
        "|---|---|---:|---|---:|",
    ]
    for column in COLUMNS:
        lm, ls = look.get(column, ["-", None])
        em, es = evid.get(column, ["-", None])
        lines.append(
            f"| {column} | {lm} | {'-' if ls is None else f'{ls:.4f}'} | {em} | "
            f"{'-' if es is None else f'{es:.4f}'} |"
        )
    return lines


def _prepare(backend: str, rows: int, tmp: Path) -> str:
    duck = build_duckdb(rows)
    if backend == "duckdb":
        return f"duckdb:///{duck}"
    if backend == "postgresql":
        return build_postgres(duck, tmp)
    if backend == "sqlite":
        return build_sqlite(duck, tmp)
    raise SystemExit(f"unknown backend {backend!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="duckdb,postgresql", help="also: sqlite")
    parser.add_argument(
        "--extra-repeats",
        type=int,
        help="repeats of the secondary rows (lookout_cohorts, everything on SQLite); "
        "default 1, 0 below 1,000,000 rows per side (a smoke run)",
    )
    parser.add_argument("--sqlite-rows", type=int, help="rows per side on SQLite (default --rows)")
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--store")
    args = parser.parse_args()
    for name, value in (
        ("DO_NOT_TRACK", "1"),
        ("GX_ANALYTICS_ENABLED", "false"),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
    ):
        os.environ.setdefault(name, value)
    if args.extra_repeats is None:
        args.extra_repeats = 1 if args.rows >= 1_000_000 else 0
    if args.child:
        if args.child == "evidently":
            result = measure_evidently(args.url)
        else:
            result = measure_lookout(args.child, args.url, Path(args.store))
        print(json.dumps(result))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; medians of n runs; ratio = time / lookout_cold of the "
        "same backend; setup MB = RSS after imports and connection, before the timed part",
        flush=True,
    )
    table = [
        "| backend | rows/side | path | n | seconds | ratio | peak RSS MB | setup MB | "
        "drifted columns | parts (s) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    notes: list[str] = []
    scores: list[str] = []
    out: list[dict[str, Any]] = []
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lookout-bench-drift-") as tmp_name:
        tmp = Path(tmp_name)
        for backend in args.backends.split(","):
            rows = (args.sqlite_rows or args.rows) if backend == "sqlite" else args.rows
            started = time.perf_counter()
            try:
                url = _prepare(backend, rows, tmp)
                print(
                    f"{backend}: {rows:,} + {rows:,} rows ready in "
                    f"{time.perf_counter() - started:.1f}s",
                    flush=True,
                )
                if backend == "sqlite":
                    kinds = ("lookout_cold", "evidently")
                    repeats = dict.fromkeys(kinds, max(args.extra_repeats, 1))
                else:
                    repeats = dict.fromkeys(KINDS, args.repeats)
                    repeats["lookout_cohorts"] = min(args.extra_repeats, args.repeats)
                    kinds = tuple(k for k in KINDS if repeats[k])
                samples = run_backend(backend, url, kinds, repeats, tmp)
            finally:
                if backend == "postgresql":
                    drop_postgres()
            lines = _rows(backend, rows, samples)
            print("\n".join(lines), flush=True)
            table += lines
            notes.append(_summary(backend, samples))
            out += _json_rows(backend, rows, samples)
            scores += ["", *_score_table(backend, samples)]
    print()
    print("\n".join(table))
    print()
    print("\n".join(notes))
    print("\n".join(scores))
    print(f"\n(total {time.perf_counter() - started_all:.0f}s)")
    write_json(args.json, "bench_drift", out)


if __name__ == "__main__":
    main()
