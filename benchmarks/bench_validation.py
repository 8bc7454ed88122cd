"""The default validation suite on one window: GX on the warehouse (pushdown) vs GX on the
window's DataFrame vs a bare read of the same columns, on DuckDB and PostgreSQL.

Each measurement runs in a fresh process (peak RSS is its own, VmHWM) and is repeated; the
median is shown as a ratio to the bare read measured in the same run.

    python benchmarks/bench_validation.py                      # 100k and 1M rows, both backends
    python benchmarks/bench_validation.py --sizes 100000 --backends duckdb --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import row, write_json
from bench_window import DAY, _config, _peak_rss_mb, build_table

PG_URL = os.environ.get("LOOKOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

PG_TABLE = """
CREATE TABLE app_requests AS
SELECT
    'req_' || lpad(i::text, 9, '0') AS request_id,
    TIMESTAMP '2026-11-02 00:00:00' + (i * (86400.0 / {rows})) * INTERVAL '1 second' AS event_time,
    TIMESTAMP '2026-11-02 00:00:03' + (i * (86400.0 / {rows})) * INTERVAL '1 second' AS ingested_at,
    CASE WHEN i % 2 = 0 THEN 'gpt-4o-mini-2024-07-18' ELSE 'gpt-4.1-mini-2025-04-14' END
        AS model_version,
    CASE WHEN i % 2 = 0 THEN 'support-v7' ELSE 'support-v8' END AS prompt_version,
    (ARRAY['faq', 'search', 'account', 'fallback'])[1 + (i / 2) % 4] AS route,
    (ARRAY['free', 'pro', 'enterprise'])[1 + (i / 3) % 3] AS plan,
    (ARRAY['us', 'eu', 'apac'])[1 + (i / 5) % 3] AS region,
    500 + 1000 * random() AS latency_ms,
    300 + 200 * random() AS ttft_ms,
    (200 + 800 * random())::int AS prompt_tokens,
    (20 + 300 * random())::int AS completion_tokens,
    0.0001 + 0.002 * random() AS cost_usd,
    CASE WHEN random() < 0.01 THEN 'error' ELSE 'ok' END AS status,
    random() < 0.1 AS is_fallback,
    CASE WHEN random() < 0.03 THEN 1 ELSE 0 END AS retry_count,
    CASE WHEN random() < 0.1 THEN 'thumbs_down' END AS feedback,
    'sess_' || (i / 2)::text AS session_id,
    repeat('How do I rotate my API key? ', 4) AS prompt,
    repeat('Acme Cloud keys can be rotated from the console. ', 40) AS context,
    repeat('Create a second key, then revoke the first. ', 6) AS response,
    NULL::text AS tool_calls
FROM generate_series(0, {rows} - 1) AS s(i)
"""


def build(backend: str, rows: int, tmp: Path) -> str:
    """Create the table; returns the warehouse URL."""
    if backend == "duckdb":
        path = tmp / f"wh-{rows}.duckdb"
        build_table(path, rows)
        return f"duckdb:///{path}"
    name = f"lk_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(PG_TABLE.format(rows=rows)))
        conn.execute(sa.text("CREATE INDEX ON app_requests (event_time)"))
        conn.execute(sa.text("ANALYZE app_requests"))
    engine.dispose()
    return url


def drop(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def measure(kind: str, url: str, work: Path) -> dict[str, float]:
    from lookout.checks.validation.runner import GxRunner
    from lookout.checks.validation.stage import plan_suite, run_validation, validation_columns
    from lookout.runtime.context import open_context
    from lookout.windows import Window

    # the warehouse opened as a run opens it (read-only, the target's timeouts)
    config = _config(work, "auto", url)
    monitor = config.monitors.monitors[0]
    window = Window(DAY, DAY + timedelta(days=1))
    with open_context(config=config) as opened:
        warehouse = opened.warehouse
        warehouse.check_monitor(monitor)
        planned = plan_suite(monitor)
        runner = GxRunner() if kind != "bare_read" else None
        started = time.perf_counter()
        if kind == "bare_read":
            frame = warehouse.read_window(
                monitor, window, validation_columns(monitor, planned), cohorts=False
            )
            rows = len(frame)
            failed = 0
        else:
            result = run_validation(
                warehouse,
                monitor,
                window,
                planned=planned,
                runner=runner,
                connection_string=url,
                pushdown=kind == "gx_pushdown",
            )
            errors = [o for o in result.outcomes if o.status == "error"]
            if errors:
                raise SystemExit(f"{kind}: {errors[0].name}: {errors[0].error}")
            rows = result.rows
            failed = sum(o.status == "failed" for o in result.outcomes)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "rows": rows, "failed": failed}


def _child(kind: str, url: str, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--work", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="duckdb,postgresql")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--work")
    args = parser.parse_args()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if args.child:
        print(json.dumps(measure(args.child, args.url, Path(args.work))))
        return
    kinds = ("bare_read", "gx_pushdown", "gx_dataframe")
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{args.repeats} repeats, medians; ratio = time / bare_read of the same run"
    )
    print(f"{'backend':<11} {'rows':>9} {'path':<13} {'ratio':>7} {'seconds':>8} {'peak MB':>8}")
    out = []
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for backend in args.backends.split(","):
            for rows in (int(s) for s in args.sizes.split(",")):
                url = build(backend, rows, tmp)
                try:
                    samples: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
                    for repeat in range(args.repeats):
                        for kind in kinds:
                            work = tmp / f"{backend}-{rows}-{kind}-{repeat}"
                            samples[kind].append(_child(kind, url, work))
                    base = statistics.median(s["seconds"] for s in samples["bare_read"])
                    for kind in kinds:
                        sec = statistics.median(s["seconds"] for s in samples[kind])
                        peak = statistics.median(s["peak_rss_mb"] for s in samples[kind])
                        print(
                            f"{backend:<11} {rows:>9,} {kind:<13} {sec / base:>6.2f}x "
                            f"{sec:>8.2f} {peak:>8.0f}",
                            flush=True,
                        )
                        out.append(
                            row(
                                f"validation, {rows:,} rows ({backend})",
                                kind,
                                rows=int(samples[kind][0]["rows"]),
                                seconds=sec,
                                baseline_seconds=base,
                                peak_rss_mb=peak,
                                repeats=len(samples[kind]),
                                baseline=kind == "bare_read",
                                note=f"{int(samples[kind][0]['failed'])} failed expectations",
                            )
                        )
                finally:
                    drop(url)
    write_json(args.json, "bench_validation", out)


if __name__ == "__main__":
    main()
