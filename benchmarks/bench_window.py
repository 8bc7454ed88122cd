"""Window read + ops metrics on a 1,000,000-row table, as ratios to a bare SELECT.

`--backend mysql` loads the same table into a fresh MariaDB/MySQL database (`--mysql-url`,
dropped afterwards) and measures the same paths there: pushdown uses window-function quantiles.
`--backend clickhouse` loads it into chDB (in-process ClickHouse, the `chdb` extra) in the
temporary directory. `--backend snowflake` starts fakesnow in server mode (a Snowflake emulator
on DuckDB, the `snowflake-test` extra) on 127.0.0.1 in this process and loads the table into it;
the measured children connect over HTTP with snowflake-sqlalchemy. The emulator runs on DuckDB,
so its ratios say nothing about a real Snowflake warehouse.

The window runs without its optional stages (validation, drift, evaluators: each has a
benchmark of its own; `bench_hourly.py` runs them all end to end).

Each measurement runs in a fresh subprocess (so peak RSS is its own) and is repeated; the
median is reported. The baseline is measured in the same run: machines are noisy, absolute
times are not comparable between runs, ratios are.

    python benchmarks/bench_window.py            # 1,000,000 rows, 3 repeats
    python benchmarks/bench_window.py --rows 100000 --repeats 5
    python benchmarks/bench_window.py --backend mysql --rows 100000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import peak_rss_mb as _peak_rss_mb  # bench_validation, bench_drift import it
from _results import row, write_json

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def build_table(path: Path, rows: int) -> None:
    """A request log of `rows` rows inside one day (the window), demo column names."""
    import duckdb

    conn = duckdb.connect(str(path))
    conn.execute(
        f"""
        CREATE OR REPLACE TABLE app_requests AS
        SELECT
            'req_' || lpad(i::VARCHAR, 9, '0') AS request_id,
            TIMESTAMP '2026-11-02 00:00:00' + to_microseconds((i * 86400000000 // {rows})::BIGINT)
                AS event_time,
            TIMESTAMP '2026-11-02 00:00:03' + to_microseconds((i * 86400000000 // {rows})::BIGINT)
                AS ingested_at,
            CASE WHEN hash(i) % 2 = 0 THEN 'gpt-4o-mini-2024-07-18'
                ELSE 'gpt-4.1-mini-2025-04-14' END AS model_version,
            CASE WHEN hash(i) % 2 = 0 THEN 'support-v7' ELSE 'support-v8' END AS prompt_version,
            ['faq', 'search', 'account', 'fallback'][1 + (hash(i + 1) % 4)::INTEGER] AS route,
            ['free', 'pro', 'enterprise'][1 + (hash(i + 2) % 3)::INTEGER] AS plan,
            ['us', 'eu', 'apac'][1 + (hash(i + 3) % 3)::INTEGER] AS region,
            exp(7 + 0.5 * sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random())) AS latency_ms,
            300 + 200 * random() AS ttft_ms,
            (200 + 800 * random())::INTEGER AS prompt_tokens,
            (20 + 300 * random())::INTEGER AS completion_tokens,
            0.0001 + 0.002 * random() AS cost_usd,
            CASE WHEN random() < 0.01 THEN 'error' ELSE 'ok' END AS status,
            random() < 0.1 AS is_fallback,
            CASE WHEN random() < 0.03 THEN 1 ELSE 0 END AS retry_count,
            CASE WHEN random() < 0.1 THEN 'thumbs_down' WHEN random() < 0.2 THEN 'thumbs_up' END
                AS feedback,
            'sess_' || (i // 2)::VARCHAR AS session_id,
            repeat('How do I rotate my API key without downtime? ', 4) AS prompt,
            repeat('Acme Cloud keys can be rotated from the console. ', 40) AS context,
            repeat('Create a second key, deploy it, then revoke the first. ', 6) AS response,
            NULL::VARCHAR AS tool_calls
        FROM range({rows}) t(i)
        """
    )
    conn.close()


_MYSQL_DDL = """
CREATE TABLE app_requests (
    request_id VARCHAR(20) NOT NULL, event_time DATETIME(6) NOT NULL, ingested_at DATETIME(6),
    model_version VARCHAR(40), prompt_version VARCHAR(20), route VARCHAR(20), plan VARCHAR(20),
    region VARCHAR(10), latency_ms DOUBLE, ttft_ms DOUBLE, prompt_tokens INT,
    completion_tokens INT, cost_usd DOUBLE, status VARCHAR(10), is_fallback BOOLEAN,
    retry_count INT, feedback VARCHAR(20), session_id VARCHAR(20), prompt TEXT, context TEXT,
    response TEXT, tool_calls TEXT, KEY (event_time)
) CHARACTER SET utf8mb4
"""


def load_mysql(duck_path: Path, url: str) -> str:
    """Copy the DuckDB table into a new database on the MySQL/MariaDB server at `url` (CSV +
    LOAD DATA LOCAL INFILE); returns the new database's URL."""
    import duckdb
    import sqlalchemy as sa

    csv = duck_path.with_suffix(".csv")
    conn = duckdb.connect(str(duck_path), read_only=True)
    conn.execute(
        f"COPY (SELECT * REPLACE (is_fallback::INTEGER AS is_fallback) FROM app_requests) "
        f"TO '{csv}' (HEADER false, DELIMITER '\t', NULLSTR '\\N', QUOTE '')"
    )
    conn.close()
    name = f"lk_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    admin.dispose()
    target = sa.engine.make_url(url).set(database=name)
    engine = sa.create_engine(target, connect_args={"local_infile": True})
    with engine.begin() as c:
        c.execute(sa.text(_MYSQL_DDL))
        c.exec_driver_sql(
            f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE app_requests "
            "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'"
        )
    engine.dispose()
    csv.unlink()
    return target.render_as_string(hide_password=False)


def load_clickhouse(duck_path: Path) -> str:
    """Copy the DuckDB table into a chDB directory beside it (Parquet in between); returns
    its SQLAlchemy URL."""
    import duckdb
    import sqlalchemy as sa

    parquet = duck_path.with_suffix(".parquet")
    conn = duckdb.connect(str(duck_path), read_only=True)
    conn.execute(f"COPY app_requests TO '{parquet}' (FORMAT parquet)")
    conn.close()
    url = f"clickhousedb:///default?dsn=chdb:///{duck_path.parent / 'chdb'}"
    engine = sa.create_engine(url)
    with engine.connect() as c:
        c.execute(
            sa.text(
                "CREATE TABLE app_requests ENGINE = MergeTree ORDER BY event_time "
                f"AS SELECT * FROM file('{parquet}', Parquet)"
            )
        )
    engine.dispose()
    parquet.unlink()
    return url


_SNOWFLAKE_DDL = """
CREATE TABLE APP_REQUESTS (
    REQUEST_ID VARCHAR, EVENT_TIME TIMESTAMP_NTZ, INGESTED_AT TIMESTAMP_NTZ, MODEL_VERSION VARCHAR,
    PROMPT_VERSION VARCHAR, ROUTE VARCHAR, PLAN VARCHAR, REGION VARCHAR, LATENCY_MS FLOAT,
    TTFT_MS FLOAT, PROMPT_TOKENS NUMBER(38, 0), COMPLETION_TOKENS NUMBER(38, 0), COST_USD FLOAT,
    STATUS VARCHAR, IS_FALLBACK BOOLEAN, RETRY_COUNT NUMBER(38, 0), FEEDBACK VARCHAR,
    SESSION_ID VARCHAR, PROMPT VARCHAR, CONTEXT VARCHAR, RESPONSE VARCHAR, TOOL_CALLS VARCHAR
)
"""


_NOTES = {
    "snowflake": (
        "fakesnow: an emulator on DuckDB behind HTTP, says nothing of a real Snowflake warehouse"
    )
}


def load_snowflake(duck_path: Path, server: dict[str, Any]) -> str:
    """Copy the DuckDB table into the fakesnow server (Parquet read by the emulator's DuckDB: a
    load path of the emulator only; a real Snowflake loads with PUT + COPY INTO); returns the
    SQLAlchemy URL of its database."""
    import duckdb
    import snowflake.connector

    parquet = duck_path.with_suffix(".parquet")
    conn = duckdb.connect(str(duck_path), read_only=True)
    conn.execute(f"COPY app_requests TO '{parquet}' (FORMAT parquet)")
    conn.close()
    with snowflake.connector.connect(**server) as sf:
        cursor = sf.cursor()
        cursor.execute("CREATE DATABASE LK_BENCH")
        cursor.execute("CREATE SCHEMA LK_BENCH.PUBLIC")
        cursor.execute("USE SCHEMA LK_BENCH.PUBLIC")
        cursor.execute(_SNOWFLAKE_DDL)
        cursor.execute(f"INSERT INTO APP_REQUESTS SELECT * FROM read_parquet('{parquet}')")
    parquet.unlink()
    # the emulator speaks http, which snowflake-sqlalchemy accepts in a URL only with this set
    os.environ["SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS"] = "true"
    return (
        f"snowflake://{server['user']}:{server['password']}@{server['host']}:{server['port']}"
        f"/LK_BENCH/PUBLIC?account={server['account']}&protocol=http"
    )


def drop_mysql(url: str) -> None:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="mysql"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
    admin.dispose()


def _config(directory: Path, pushdown: str, warehouse: str | None = None):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from lookout.config.loader import load_config

    directory.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    monitors = (root / "monitors.yml").read_text()
    monitors = monitors.replace("pushdown: auto", f"pushdown: {pushdown}").replace(
        "size: 1h", "size: 1d"
    )
    (directory / "monitors.yml").write_text(monitors)
    profiles = (root / "profiles.yml").read_text()
    if warehouse is not None:
        default = "\"duckdb:///{{ env_var('LOOKOUT_HOME', 'lookout-demo') }}/warehouse.duckdb\""
        assert default in profiles
        profiles = profiles.replace(default, json.dumps(warehouse), 1)
    (directory / "profiles.yml").write_text(profiles)
    return load_config(
        directory / "profiles.yml",
        directory / "monitors.yml",
        target="dev",
        environ={"LOOKOUT_HOME": str(directory)},
    )


def measure(kind: str, data_dir: Path, warehouse: str | None = None) -> dict[str, float]:
    """One measurement in this (fresh) process (on DuckDB unless `warehouse` is a URL)."""
    from lookout.windows import Window

    window = Window(DAY, DAY + timedelta(days=1))
    work = data_dir / f"run-{kind}-{time.time_ns()}"
    pushdown = "on" if kind == "run_pushdown" else "off"
    config = _config(work, pushdown, warehouse)
    if warehouse is None:
        (work / "warehouse.duckdb").symlink_to(data_dir / "warehouse.duckdb")
    from lookout.pipeline import Context, run_window
    from lookout.runtime.context import open_context
    from lookout.sources.warehouse import metric_fields

    with open_context(config=config) as opened:
        ctx = Context.from_runtime(opened)
        monitor = config.monitors.monitors[0]
        ctx.warehouse.check_monitor(monitor)  # reflection is not what we measure
        query = ctx.warehouse.window_query(monitor, window, metric_fields(monitor.source))
        started = time.perf_counter()
        if kind == "bare_select":
            frame = ctx.warehouse.fetch_frame(query)
            rows = len(frame)
        else:
            # read, metrics, rules, commit: the optional stages have benchmarks of their own
            result = run_window(ctx, monitor, window, stages=())
            if result.status != "succeeded":
                raise SystemExit(f"run failed: {result.error}")
            rows = result.rows
        seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "rows": rows}


def _run_child(kind: str, data_dir: Path, warehouse: str | None) -> dict[str, float]:
    extra = ["--warehouse", warehouse] if warehouse else []
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(data_dir), *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    parser.add_argument(
        "--backend", choices=("duckdb", "mysql", "clickhouse", "snowflake"), default="duckdb"
    )
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--child")
    parser.add_argument("--data")
    parser.add_argument("--warehouse")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, Path(args.data), args.warehouse)))
        return
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp, contextlib.ExitStack() as up:
        data_dir = Path(tmp)
        started = time.perf_counter()
        build_table(data_dir / "warehouse.duckdb", args.rows)
        warehouse = None
        if args.backend == "mysql":
            warehouse = load_mysql(data_dir / "warehouse.duckdb", args.mysql_url)
        elif args.backend == "clickhouse":
            warehouse = load_clickhouse(data_dir / "warehouse.duckdb")
        elif args.backend == "snowflake":
            import fakesnow

            server = up.enter_context(fakesnow.server(host="127.0.0.1"))
            warehouse = load_snowflake(data_dir / "warehouse.duckdb", server)
        print(f"built {args.rows:,} rows in {time.perf_counter() - started:.1f}s")
        try:
            samples = _measure_all(data_dir, warehouse, args.repeats)
        finally:
            if args.backend == "mysql" and warehouse is not None:
                drop_mysql(warehouse)
        label = {
            "duckdb": "DuckDB",
            "mysql": "MariaDB",
            "clickhouse": "ClickHouse (chDB)",
            "snowflake": "Snowflake (fakesnow emulator)",
        }[args.backend]
        kinds = tuple(samples)
        base = statistics.median(s["seconds"] for s in samples["bare_select"])
        print(
            f"\nmachine: {platform.machine()}, {platform.python_version()}, "
            f"{len(samples['bare_select'])} repeats, median shown"
        )
        print(f"{'path':<14} {'rows':>10} {'ratio':>7} {'peak RSS MB':>12}")
        out = []
        for kind in kinds:
            seconds = statistics.median(s["seconds"] for s in samples[kind])
            peak = statistics.median(s["peak_rss_mb"] for s in samples[kind])
            rows = int(samples[kind][0]["rows"])
            print(f"{kind:<14} {rows:>10,} {seconds / base:>6.2f}x {peak:>12.0f}")
            out.append(
                row(
                    f"window read + metrics, {args.rows:,} rows ({label})",
                    kind,
                    rows=rows,
                    seconds=seconds,
                    baseline_seconds=base,
                    peak_rss_mb=peak,
                    repeats=len(samples[kind]),
                    baseline=kind == "bare_select",
                    note=_NOTES.get(args.backend, ""),
                )
            )
        print(f"(baseline bare_select median: {base:.3f}s)")
        write_json(args.json, "bench_window", out)


def _measure_all(
    data_dir: Path, warehouse: str | None, repeats: int
) -> dict[str, list[dict[str, Any]]]:
    kinds = ("bare_select", "run_pandas", "run_pushdown")
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for _ in range(repeats):
        for kind in kinds:  # interleaved, so drift in machine load hits all alike
            samples[kind].append(_run_child(kind, data_dir, warehouse))
    return samples


if __name__ == "__main__":
    main()
