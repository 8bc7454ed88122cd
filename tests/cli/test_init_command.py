"""`lookout init` end to end on PostgreSQL, SQLite and DuckDB: the proposal on a table with
nobody's default names, the written files loading and checking against the live table, a run
over them, and one clear line (exit 2) for each kind of bad input."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from tests.fixtures.init_tables import END, load_requests, requests_frame
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config, load_monitors
from lookout.windows import Window

PG = pytest.param("postgresql", marks=pytest.mark.postgres)
DIALECTS = [
    PG,
    "sqlite",
    "duckdb",
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("clickhouse", marks=pytest.mark.clickhouse),
    pytest.param("snowflake", marks=pytest.mark.snowflake),
]


def _cli(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def warehouse(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table value) of a `requests` table holding requests_frame() on one dialect."""
    dialect = request.param
    frame = requests_frame()
    if dialect == "postgresql":
        pg_url, schema = request.getfixturevalue("pg_schema")
        engine = sa.create_engine(pg_url)
        load_requests(engine, frame, schema=schema, aware=True)  # timestamptz
        engine.dispose()
        yield pg_url, f"{schema}.requests"
        return
    if dialect in ("clickhouse", "snowflake"):  # DDL and loading of their own (conftest)
        url = request.getfixturevalue("chdb_url" if dialect == "clickhouse" else "snowflake_url")
        # the URL has a password, so init writes env_var('LOOKOUT_WAREHOUSE_URL'): export it
        request.getfixturevalue("monkeypatch").setenv("LOOKOUT_WAREHOUSE_URL", url)
        engine = sa.create_engine(url)
        write_table(engine, frame, table="requests")
        engine.dispose()
        yield url, "requests"
        return
    if dialect == "mysql":
        url = request.getfixturevalue("mysql_database")
        engine = sa.create_engine(url)
        load_requests(engine, frame)
        engine.dispose()
        yield url, "requests"
        return
    url = (
        f"sqlite:///{tmp_path / 'wh.sqlite'}"
        if dialect == "sqlite"
        else f"duckdb:///{tmp_path / 'wh.duckdb'}"
    )
    engine = sa.create_engine(url)
    load_requests(engine, frame)
    engine.dispose()
    yield url, "requests"


def _init(tmp_path: Path, url: str, table: str, *extra: str):
    return _cli(
        "init",
        "--table",
        table,
        "--warehouse-url",
        url,
        "--profiles",
        tmp_path / "cfg" / "profiles.yml",
        "--monitors",
        tmp_path / "cfg" / "monitors.yml",
        "--yes",
        *extra,
    )


@pytest.mark.parametrize("warehouse", DIALECTS, indirect=True)
def test_init_maps_nobodys_default_names_and_the_files_check_against_the_table(tmp_path, warehouse):
    url, table = warehouse
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitor = load_monitors(monitors).monitors[0]
    source = monitor.source
    assert source.columns["record_id"] == "req_uuid"
    assert source.columns["ts"] == "created"
    assert source.columns["status"] == "http_status"
    assert source.ok_statuses[:2] == ["200", "201"] and "429" not in source.ok_statuses
    assert all(200 <= int(s) < 300 for s in source.ok_statuses)
    assert source.status_rates == {"rate_limited": [429]}  # the quota's 429s: a rate apart
    assert source.columns["feedback"] == "thumbs"
    assert source.negative_feedback == ["-1"]
    assert source.columns["model_version"] == "model_name"
    assert source.columns["prompt_version"] == "app_version"  # the app version is the release
    assert source.release == ["model_version", "prompt_version"]
    assert {"tenant_tier", "region"} <= set(source.cohorts)
    assert "tenant_id" not in source.cohorts  # 5,000 tenants: not a cohort
    assert source.columns["latency_ms"] == "duration_ms"
    assert source.columns["input"] == "prompt_text"
    assert source.columns["output"] == "answer_text"
    # ~20 rows an hour: 3h windows hold an error rate's 50 records; a p95 pools 200 of them
    assert monitor.window.size.total_seconds() == 3 * 3600
    rules = {r.name: r for r in monitor.rules}
    assert 0.05 <= rules["error_rate"].threshold <= 0.2  # max(2x ~7% observed, 5%)
    assert rules["latency_p95"].threshold > 1000
    # and each cohort against its own last week (3x its error rate)
    history = rules["error_rate_vs_own_history"]
    assert history.reference is not None and history.reference.kind == "history"
    assert set(history.split_by) == set(source.cohorts) and history.threshold == 2
    assert monitor.evaluators.enabled and monitor.evaluators.sampling.share >= 0.5
    text = monitors.read_text()
    assert "# Not mapped:" in text and "tenant_id:" in text  # said why, in the file
    assert "integer HTTP codes: 2xx are ok" in text
    output = _flat(result.output)
    assert "http_status" in output and "status" in output and "wrote" in output
    check = _cli(
        "validate-config",
        "--check-warehouse",
        "--profiles",
        tmp_path / "cfg" / "profiles.yml",
        "--monitors",
        monitors,
    )
    assert check.exit_code == 0, check.output
    assert "1 monitor(s) (requests)" in check.output


# Snowflake's init is tested above and its window runs in the cross-backend tests; a full run
# here through the emulator (~45 ms a statement) costs ~25 s of the suite's 10 minutes.
RUN_DIALECTS = [d for d in DIALECTS if getattr(d, "values", (d,))[0] != "snowflake"]


@pytest.mark.slow
@pytest.mark.prefect
@pytest.mark.parametrize("warehouse", RUN_DIALECTS, indirect=True)
def test_a_run_over_the_written_files_processes_every_window_without_failures(
    tmp_path, warehouse, prefect_api
):
    url, table = warehouse
    assert _init(tmp_path, url, table).exit_code == 0
    cfg = tmp_path / "cfg"
    as_of = f"{END + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"  # the last window complete
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    result = _cli("run", *files, "--as-of", as_of)
    assert result.exit_code == 0, result.output
    windows, rows = re.search(r"(\d+) window\(s\), ([\d,]+) rows", result.output).groups()
    assert int(windows) >= 7 and int(rows.replace(",", "")) >= 350
    config = load_config(cfg / "profiles.yml", cfg / "monitors.yml")
    store = config.target.store.url.get_secret_value().removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM runs GROUP BY status"))
        rates = db.execute(
            "SELECT min(value), max(value) FROM metrics WHERE metric = 'error_rate' "
            "AND cohort = '*'"
        ).fetchone()
        failed = db.execute(
            "SELECT max(value), count(*) FROM metrics "
            "WHERE metric = 'validation_failed_expectations'"
        ).fetchone()
        limited = db.execute(
            "SELECT sum(value * n) / sum(n), sum(n) FROM metrics "
            "WHERE metric = 'status_rate.rate_limited' AND cohort = '*'"
        ).fetchone()
    assert statuses == {"succeeded": int(windows)}
    assert rates[0] > 0 and rates[1] < 0.25  # integer statuses read against "200"...
    assert 0 < limited[0] < rates[1] and limited[1] >= 350  # the 429s, of every record
    assert failed[0] == 0 and failed[1] > 0  # the starter expectations fit the data


# -- durations logged in seconds ------------------------------------------------------------


def _requests_altered(request, tmp_path: Path, *statements: str) -> tuple[str, str]:
    """(URL, --table value) of `requests` on the backend `request.param` names, altered by
    `statements` (`{table}`: the table's quoted name)."""
    schema = None
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    else:
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    load_requests(engine, requests_frame(), schema=schema)
    table = engine.dialect.identifier_preparer.format_table(sa.table("requests", schema=schema))
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement.format(table=table))
    engine.dispose()
    return url, f"{schema}.requests" if schema else "requests"


@pytest.fixture
def in_seconds(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table value) of `requests` logging its latency in seconds, as a decimal
    `duration_s` (the MariaDB table a user ran init on), instead of `duration_ms`."""
    yield _requests_altered(
        request,
        tmp_path,
        "ALTER TABLE {table} ADD COLUMN duration_s DECIMAL(10, 4)",
        "UPDATE {table} SET duration_s = duration_ms / 1000",
        "ALTER TABLE {table} DROP COLUMN duration_ms",
    )


@pytest.mark.parametrize(
    "in_seconds",
    [
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
    indirect=True,
)
def test_a_table_logging_seconds_is_read_in_milliseconds_from_init_to_results(tmp_path, in_seconds):
    """init writes `units: {latency_ms: s}` and a p95 threshold in ms (it wrote `> 8.8` with
    "(4 ms)" and a note to map a view before, and every result was 1000x off); the files check
    against the table, and a window's results read in ms."""
    url, table = in_seconds
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    cfg = tmp_path / "cfg"
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.columns["latency_ms"] == "duration_s"
    assert monitor.source.units == {"latency_ms": "s"}
    rule = next(r for r in monitor.rules if r.metric == "latency_p95_ms")
    assert rule.threshold > 1000  # 2x a p95 of ~1.3 s, in ms
    text = (cfg / "monitors.yml").read_text()
    assert "units: {latency_ms: s}" in text and "map a view" not in text
    assert "`units: {latency_ms: s}` reads it in milliseconds" in _flat(result.output)
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    check_and_run(cfg, [Window(END - monitor.window.size, END)])
    data = _cli("results", "--format", "json", *files)
    assert data.exit_code == 0, data.output
    p95s = [row["latency_p95_ms"] for row in json.loads(data.output)]
    assert p95s and all(900 < value < rule.threshold for value in p95s), p95s


@pytest.fixture
def in_micro_usd(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table value) of `requests` with its cost logged as `cost_micro_usd BIGINT`
    (micro-dollars: the PostgreSQL span table a user ran init on), ~$0.002 a request."""
    yield _requests_altered(
        request,
        tmp_path,
        "ALTER TABLE {table} ADD COLUMN cost_micro_usd BIGINT",
        "UPDATE {table} SET cost_micro_usd = ROUND(duration_ms * 3)",
    )


@pytest.mark.parametrize(
    "in_micro_usd",
    [
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
    indirect=True,
)
def test_a_cost_in_micro_dollars_is_read_in_dollars_from_init_to_results(tmp_path, in_micro_usd):
    """init writes `units: {cost_usd: micro_usd}` (it mapped the column with "numbers 108 to
    11835" and no unit, and `lookout results` printed a total cost of 19,007,984.00 "USD");
    the files check against the table, and a window's cost results read in dollars."""
    url, table = in_micro_usd
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    cfg = tmp_path / "cfg"
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.columns["cost_usd"] == "cost_micro_usd"
    assert monitor.source.units == {"cost_usd": "micro_usd"}
    assert "units: {cost_usd: micro_usd}" in (cfg / "monitors.yml").read_text()
    assert "`units: {cost_usd: micro_usd}` reads it in US dollars" in _flat(result.output)
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    check_and_run(cfg, [Window(END - monitor.window.size, END)])
    data = _cli("results", "--format", "json", *files)
    assert data.exit_code == 0, data.output
    rows = [row for row in json.loads(data.output) if row["n"]]
    assert rows
    for row in rows:
        assert 0.001 < row["cost_per_request_usd"] < 0.005, row  # ~3 micro-dollars per ms
        assert row["cost_usd"] == pytest.approx(row["cost_per_request_usd"] * row["n"])


# -- big tables: bounded reads ---------------------------------------------------------------


def test_a_table_of_millions_of_rows_is_sampled_within_bounds(tmp_path):
    from lookout.services.init import propose
    from lookout.services.init_table import DUCKDB_VECTOR, SAMPLE_ROWS, TS_VECTORS, read_table

    url = f"duckdb:///{tmp_path / 'big.duckdb'}"
    engine = sa.create_engine(url)
    rows = 4_000_000  # one every 0.864 s: 40 days, ~4,167 rows an hour
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE big AS SELECT 'r' || i AS request_id, "
            "TIMESTAMP '2026-10-01' + to_microseconds(i * 864000) AS event_time, "
            "CASE WHEN i % 20 = 0 THEN 'error' ELSE 'ok' END AS status, "
            "(i % 997)::DOUBLE AS latency_ms, ['us', 'eu', 'apac'][i % 3 + 1] AS region, "
            f"'answer number ' || i AS response FROM range({rows}) r(i)"
        )
    engine.dispose()
    started = time.monotonic()
    read = read_table(url, "big")
    proposal = propose(read.columns, read.sample, read.traffic, table="big")
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    traffic = proposal.traffic
    assert traffic.timestamps_read <= TS_VECTORS * DUCKDB_VECTOR * 1.5  # ~100 vectors
    assert 0 < proposal.sample_rows <= SAMPLE_ROWS
    assert traffic.rows_estimate == rows  # DuckDB's count(*) is metadata
    true_rate = rows / (40 * 24)  # enough to choose a window (sizes step by 2x): within 40%
    assert abs(traffic.rows_per_hour - true_rate) / true_rate < 0.4, traffic
    assert "TABLESAMPLE" in traffic.method
    assert proposal.columns["ts"] == "event_time" and proposal.sizing.window.total_seconds() == 3600


def test_a_postgresql_table_larger_than_the_page_budget_is_read_through_a_page_sample(pg_schema):
    from lookout.services.init import propose
    from lookout.services.init_table import SAMPLE_ROWS, TS_PAGES, read_table

    pg_url, schema = pg_schema
    engine = sa.create_engine(pg_url)
    rows = 400_000  # one every 1.728 s: 8 days, in more pages (8 kB) than TS_PAGES
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".log AS SELECT gen_random_uuid()::text AS request_id, '
            "timestamp '2026-11-01' + i * interval '1.728 seconds' AS ts, "
            "(ARRAY[200, 200, 200, 503])[1 + mod(i, 4)] AS code, "
            f"mod(i, 500)::float AS duration_ms FROM generate_series(1, {rows}) i"
        )
        pages = conn.scalar(sa.text(f"SELECT pg_relation_size('\"{schema}\".log') / 8192"))
    engine.dispose()
    assert pages > TS_PAGES
    read = read_table(pg_url, "log", schema)
    proposal = propose(read.columns, read.sample, read.traffic, table="log", schema=schema)
    traffic = proposal.traffic
    assert "TABLESAMPLE SYSTEM" in traffic.method
    assert traffic.timestamps_read < rows * (TS_PAGES / pages) * 1.3
    assert abs(traffic.rows_estimate - rows) / rows < 0.15
    assert abs(traffic.rows_per_hour - rows / (8 * 24)) / (rows / (8 * 24)) < 0.25
    assert 0 < proposal.sample_rows <= SAMPLE_ROWS
    assert proposal.columns["status"] == "code" and proposal.ok_statuses[0] == "200"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE INDEX ON "{schema}".log (ts)')
    engine.dispose()
    indexed = read_table(pg_url, "log", schema)  # the newest rows of each hour, by the index
    hours = pd.to_datetime(indexed.sample["ts"]).dt.floor("h").nunique()
    assert len(indexed.sample) <= SAMPLE_ROWS and hours >= 24


# -- bad input: one clear line, exit 2 ------------------------------------------------------


@pytest.fixture
def duck(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    load_requests(engine, requests_frame(hours=4))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER, name VARCHAR, plan VARCHAR)")
        conn.exec_driver_sql("INSERT INTO users VALUES (1, 'a', 'free'), (2, 'b', 'pro')")
        conn.exec_driver_sql("CREATE TABLE empty_log (id VARCHAR, ts TIMESTAMP)")
    engine.dispose()
    return url


def _error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_table_that_does_not_exist_names_similar_ones(tmp_path, duck):
    result = _init(tmp_path, duck, "requsts")
    assert result.exit_code == 2
    line = _error_line(result)
    assert "table 'requsts' not found" in line and "(did you mean requests?)" in line
    assert not (tmp_path / "cfg").exists()


def test_a_table_without_a_timestamp_column_is_refused(tmp_path, duck):
    result = _init(tmp_path, duck, "users")
    assert result.exit_code == 2
    line = _error_line(result)
    assert "no timestamp column" in line and "id INTEGER" in line
    assert not (tmp_path / "cfg").exists()


def test_an_empty_table_is_refused(tmp_path, duck):
    result = _init(tmp_path, duck, "empty_log")
    assert result.exit_code == 2
    assert "has no rows" in _error_line(result)


def test_a_table_the_user_cannot_read_is_refused(tmp_path, pg_schema):
    pg_url, schema = pg_schema
    admin = sa.create_engine(pg_url)
    load_requests(admin, requests_frame(hours=2), schema=schema)
    role = f"lk_noread_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')  # no SELECT
    url = sa.engine.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        result = _init(tmp_path, url, f"{schema}.requests")
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()
    assert result.exit_code == 2
    line = _error_line(result)
    assert f"cannot read table '{schema}.requests'" in line and "permission denied" in line
    assert not (tmp_path / "cfg").exists()


def test_a_missing_driver_says_what_to_install(tmp_path):
    # pg8000 is not installed (psycopg is the postgres extra's driver)
    result = _init(tmp_path, "postgresql+pg8000://lookout@127.0.0.1:5432/test", "requests")
    assert result.exit_code == 2
    line = _error_line(result)
    assert "Python module 'pg8000'" in line
    assert "pip install 'lookout[postgres]'" in line and "postgresql+psycopg://" in line


def test_an_unreachable_warehouse_is_one_line(tmp_path):
    result = _init(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none", "requests")
    assert result.exit_code == 2
    assert "cannot connect to warehouse" in _error_line(result)


def test_a_hostile_table_name_is_refused_before_any_sql(tmp_path, duck):
    result = _init(tmp_path, duck, 'requests"; DROP TABLE requests; --')
    assert result.exit_code == 2
    assert "not a plain SQL identifier" in _error_line(result)
    engine = sa.create_engine(duck)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM requests")) > 0
    engine.dispose()


def test_without_a_terminal_it_shows_the_proposal_and_asks_for_yes(tmp_path, duck):
    result = _cli(
        "init", "--table", "requests", "--warehouse-url", duck,
        "--profiles", tmp_path / "cfg" / "profiles.yml",
        "--monitors", tmp_path / "cfg" / "monitors.yml",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pass --yes" in _error_line(result)
    assert "Proposed mapping" in result.output  # shown before the refusal
    assert not (tmp_path / "cfg" / "monitors.yml").exists()


def test_an_existing_monitors_file_is_never_overwritten_without_force(tmp_path, duck):
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.parent.mkdir()
    monitors.write_text("# mine\n")
    result = _init(tmp_path, duck, "requests")
    assert result.exit_code == 2
    assert "exists: pass --force" in _error_line(result)
    assert monitors.read_text() == "# mine\n"
    forced = _init(tmp_path, duck, "requests", "--force")
    assert forced.exit_code == 0, forced.output
    assert load_monitors(monitors).monitors[0].name == "requests"


@pytest.mark.parametrize("where", ["user part", "query"])
def test_a_password_in_the_url_never_reaches_a_file_or_the_output(tmp_path, pg_schema, where):
    """In `user:password@` or in `?password=` (psycopg and MySQL take both; init wrote the
    second into profiles.yml and printed it)."""
    pg_url, schema = pg_schema
    engine = sa.create_engine(pg_url)
    load_requests(engine, requests_frame(hours=4), schema=schema)
    engine.dispose()
    secret = "s3cret-Pa55word"  # trust authentication ignores it
    parsed = sa.engine.make_url(pg_url)
    if where == "query":
        parsed = parsed.update_query_dict({"password": secret})
    else:
        parsed = parsed.set(password=secret)
    url = parsed.render_as_string(hide_password=False)
    result = _init(tmp_path, url, f"{schema}.requests")
    assert result.exit_code == 0, result.output
    profiles = (tmp_path / "cfg" / "profiles.yml").read_text()
    assert "{{ env_var('LOOKOUT_WAREHOUSE_URL') }}" in profiles
    for text in (profiles, (tmp_path / "cfg" / "monitors.yml").read_text(), result.output):
        assert secret not in text
    assert "export" in result.output and "LOOKOUT_WAREHOUSE_URL" in result.output


def test_a_password_with_an_unencoded_at_sign_is_refused_before_connecting(tmp_path, duck):
    result = _init(tmp_path, "postgresql://me:Zx@9Tq#Pw@127.0.0.1:1/db", "requests")
    assert result.exit_code == 2
    assert "not URL-encoded" in _error_line(result) and "%40" in _error_line(result)
    assert "9Tq" not in result.output and "Zx" not in result.output
    assert not (tmp_path / "cfg" / "profiles.yml").exists()


def test_an_existing_profile_names_the_warehouse(tmp_path, duck):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "profiles.yml").write_text(
        "target: dev\noutputs:\n  dev:\n"
        f'    warehouse: {{url: "{duck}"}}\n'
        f'    store: {{url: "sqlite:///{tmp_path}/results.sqlite"}}\n'
    )
    result = _cli(
        "init", "--table", "requests", "--profiles", cfg / "profiles.yml",
        "--monitors", cfg / "monitors.yml", "--yes", "--monitor-name", "support_bot",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_monitors(cfg / "monitors.yml").monitors[0].name == "support_bot"
    both = _init(tmp_path, duck, "requests", "--force")  # --warehouse-url and a profile
    assert both.exit_code == 2 and "drop --warehouse-url" in _error_line(both)


def test_a_table_without_a_unique_column_says_record_id_is_missing(tmp_path, duck):
    engine = sa.create_engine(duck)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE events AS SELECT 'same' AS kind, "
            "TIMESTAMP '2026-11-01' + to_seconds(i * 60) AS at FROM range(500) r(i)"
        )
    engine.dispose()
    result = _init(tmp_path, duck, "events")
    assert result.exit_code == 2
    assert "no column for record_id (required)" in _error_line(result)
    assert not (tmp_path / "cfg" / "monitors.yml").exists()


def test_sqlite_timestamps_kept_as_text_are_found_by_their_values(tmp_path):
    path = tmp_path / "wh.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE calls (call_id TEXT, logged TEXT, model TEXT, cost REAL)")
        db.executemany(
            "INSERT INTO calls VALUES (?, ?, ?, ?)",
            [
                (f"c{i}", f"2026-11-0{1 + i // 1440} {i // 60 % 24:02d}:{i % 60:02d}:00",
                 "claude-3-5-haiku", 0.001)
                for i in range(2880)
            ],
        )  # fmt: skip
    result = _init(tmp_path, f"sqlite:///{path}", "calls")
    assert result.exit_code == 0, result.output
    monitor = load_monitors(tmp_path / "cfg" / "monitors.yml").monitors[0]
    assert monitor.source.columns["ts"] == "logged"  # TEXT, read as timestamps
    assert monitor.source.columns["record_id"] == "call_id"
    assert monitor.source.columns["model_version"] == "model"
    assert monitor.window.size == timedelta(hours=1)  # 60 rows an hour
    assert "the newest rows by rowid (SQLite)" in _flat(result.output)


def test_at_a_terminal_it_asks_before_writing_and_before_overwriting(tmp_path, duck, monkeypatch):
    import lookout.cli.init

    monkeypatch.setattr(lookout.cli.init, "_interactive", lambda: True)
    cfg = tmp_path / "cfg"
    files = ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    args = ["init", "--table", "requests", "--warehouse-url", duck, *files]
    declined = CliRunner().invoke(app, args, input="n\n")
    assert declined.exit_code == 1 and "Write" in declined.output
    assert not cfg.exists()
    accepted = CliRunner().invoke(app, args, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    written = (cfg / "monitors.yml").read_text()
    again = CliRunner().invoke(app, ["init", "--table", "requests", *files], input="n\n")
    assert again.exit_code == 1 and "it exists: overwrite" in again.output
    assert (cfg / "monitors.yml").read_text() == written


# -- rows of the newest day, whatever order the database returns them in -------------------


def _old_heavy_log() -> pd.DataFrame:
    """Eight days, one row a minute, oldest first: 10,080 rows before the newest day."""
    times = pd.date_range("2026-11-01", periods=8 * 1440, freq="min").astype("datetime64[us]")
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(times))],
            "event_time": times,
            "status": ["error" if i % 20 == 0 else "ok" for i in range(len(times))],
            "latency_ms": [float(i % 997) for i in range(len(times))],
        }
    )


@pytest.fixture
def unordered(request, tmp_path: Path) -> Iterator[tuple[str, str, str | None]]:
    """(URL, table, schema) that init reads without an order: a view (DuckDB, SQLite,
    PostgreSQL) or a MariaDB table without an index on its event time."""
    dialect, frame = request.param, _old_heavy_log()
    if dialect == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
    elif dialect == "mysql":
        url, schema = request.getfixturevalue("mysql_database"), None
    else:
        suffix = "sqlite" if dialect == "sqlite" else "duckdb"
        url, schema = f"{dialect}:///{tmp_path / f'wh.{suffix}'}", None
    engine = sa.create_engine(url)
    write_table(engine, frame, table="log", schema=schema)
    name = "log"
    if dialect != "mysql":
        where = f'"{schema}".' if schema else ""
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE VIEW {where}log_v AS SELECT * FROM {where}"log"')
        name = "log_v"
    engine.dispose()
    yield url, name, schema


@pytest.mark.parametrize(
    "unordered",
    ["duckdb", "sqlite", PG, pytest.param("mysql", marks=pytest.mark.mysql)],
    indirect=True,
)
def test_rows_read_in_no_order_still_sample_the_newest_day(unordered):
    from lookout.services.init import propose
    from lookout.services.init_table import SAMPLE_ROWS, read_table

    url, table, schema = unordered
    read = read_table(url, table, schema)
    newest = pd.Timestamp("2026-11-08 23:59")
    times = pd.to_datetime(read.sample["event_time"]).dt.tz_localize(None)
    assert 1000 <= len(read.sample) <= SAMPLE_ROWS  # the newest day's 1,440 rows
    assert times.min() > newest - pd.Timedelta(days=1) and times.max() == newest
    assert "filtered on event_time in the query" in read.traffic.method
    proposal = propose(read.columns, read.sample, read.traffic, table=table, schema=schema)
    assert proposal.missing == () and proposal.columns["record_id"] == "request_id"


# -- expectations the sample itself passes ----------------------------------------------------


def _coded_log() -> pd.DataFrame:
    """Two days, a row every 2 minutes: thumbs -1/0/1 (mostly NULL), and a latency that logs
    -1 when it was not measured."""
    n = 2 * 720
    thumbs = [-1, 0, 1, 1, None, None, None, None, None, None]
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "created_at": pd.date_range("2026-11-02", periods=n, freq="2min").astype(
                "datetime64[us]"
            ),
            "thumbs": pd.array([thumbs[i % 10] for i in range(n)], dtype="Int64"),
            "latency_ms": [-1.0 if i % 50 == 0 else 100.0 + i % 300 for i in range(n)],
        }
    )


@pytest.fixture
def coded(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table) of _coded_log() on DuckDB or PostgreSQL (a SMALLINT thumbs)."""
    frame = _coded_log()
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
        table = f"{schema}.coded"
    else:
        url, schema, table = f"duckdb:///{tmp_path / 'wh.duckdb'}", None, "coded"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="coded", schema=schema)
    with engine.begin() as conn:
        where = f'"{schema}".coded' if schema else "coded"
        conn.exec_driver_sql(f"ALTER TABLE {where} ALTER COLUMN thumbs TYPE SMALLINT")
    engine.dispose()
    yield url, table


@pytest.mark.parametrize("coded", ["duckdb", PG], indirect=True)
def test_feedback_codes_are_the_ones_seen_and_no_check_fails_its_own_sample(tmp_path, coded):
    url, table = coded
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    monitor = load_monitors(tmp_path / "cfg" / "monitors.yml").monitors[0]
    assert monitor.source.columns["feedback"] == "thumbs"
    checks = {(e.kind, getattr(e, "column", None)): e for e in monitor.validation.expectations}
    assert checks["in_set", "feedback"].values == [-1, 0, 1]  # 0 too: it is in the sample
    # the -1 of an unmeasured latency fails `between 0`: left out, and said why
    assert ("between", "latency_ms") not in checks
    assert ("not_null", "record_id") in checks  # the rest of the contract stays
    text = (tmp_path / "cfg" / "monitors.yml").read_text()
    assert "no between check of latency_ms: 14 of the sample's 720 values fail it" in text


# -- HTTP codes logged as text ----------------------------------------------------------------


@pytest.fixture
def text_codes(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table) of a log whose http_status is TEXT ('200', '429', '500'), on DuckDB or
    PostgreSQL: ten days, a row every 2 minutes, one in five an error."""
    n = 7200
    codes = ["200"] * 8 + ["429", "500"]
    frame = pd.DataFrame(
        {
            "req_uuid": [f"r{i}" for i in range(n)],
            "ts_utc": pd.date_range("2026-11-25", periods=n, freq="2min").astype("datetime64[us]"),
            "http_status": [codes[i % 10] for i in range(n)],
            "rc": [codes[(i + 3) % 10] for i in range(n)],  # the same, named like nothing
        }
    )
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
        table = f"{schema}.calls"
    else:
        url, schema, table = f"duckdb:///{tmp_path / 'wh.duckdb'}", None, "calls"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="calls", schema=schema)
    engine.dispose()
    yield url, table


@pytest.mark.parametrize("text_codes", ["duckdb", PG], indirect=True)
def test_http_codes_kept_as_text_get_their_2xx_as_ok_statuses(tmp_path, text_codes):
    url, table = text_codes
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    assert "reads as ok" not in result.output
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitor = load_monitors(monitors).monitors[0]
    assert monitor.source.columns["status"] == "http_status"
    assert monitor.source.ok_statuses == [str(code) for code in range(200, 207)]  # text
    rules = {r.name: r for r in monitor.rules}
    assert 0.35 <= rules["error_rate"].threshold <= 0.45  # 2x the sample's 20% errors
    assert "HTTP codes as text: 2xx are ok" in monitors.read_text()
    check = _cli(
        "validate-config", "--check-warehouse",
        "--profiles", tmp_path / "cfg" / "profiles.yml", "--monitors", monitors,
    )  # fmt: skip
    assert check.exit_code == 0, check.output


# -- common names: prompt_rev, in_tok/out_tok, ctx, tools ------------------------------------

_QUESTIONS = (
    "How do I rotate my API key?",
    "Why was my invoice charged twice?",
    "Can I export my dashboard to PDF?",
    "What is the rate limit on the search API?",
)


def _agent_calls(n: int = 2000) -> pd.DataFrame:
    """The names of a new user's agent log (make_data.py of the report): a day and a half."""
    question = [_QUESTIONS[i % 4] for i in range(n)]
    tools = [f'[{{"name": "search_kb", "ok": {str(i % 7 > 0).lower()}}}]' for i in range(n)]
    answer = [
        f"Sure: {q.lower()} is covered in the help center; steps: 1) open settings"
        for q in question
    ]
    ctx = [None if i % 10 == 0 else f"Help center article: {question[i]}" for i in range(n)]
    return pd.DataFrame(
        {
            "ts_utc": pd.date_range("2026-12-01", periods=n, freq="65s").astype("datetime64[us]"),
            "req_uuid": [str(uuid.UUID(int=i * 7919 + 1)) for i in range(n)],
            "model_name": ["gpt-4o-mini"] * n,
            "prompt_rev": ["r41" if i < n // 2 else "r42" for i in range(n)],
            "in_tok": [300 + i % 2000 for i in range(n)],
            "out_tok": [40 + i % 500 for i in range(n)],
            "tenant": [("acme", "initech", "globex")[i % 3] for i in range(n)],
            "tools": tools,
            "question": question,
            "answer": answer,
            "ctx": ctx,
            "doc_summary": [f"Summary of the article on {q.split()[-1]}" for q in question],
        }
    )


@pytest.fixture
def agent_calls(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table) of _agent_calls() with `tools` as JSON (DuckDB) or JSONB (PostgreSQL)."""
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
        table, where, json_type = f"{schema}.agent_calls", f'"{schema}".agent_calls', "JSONB"
    else:
        url, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", None
        table, where, json_type = "agent_calls", "agent_calls", "JSON"
    engine = sa.create_engine(url)
    write_table(engine, _agent_calls(), table="agent_calls", schema=schema)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"ALTER TABLE {where} ALTER COLUMN tools TYPE {json_type} USING tools::{json_type}"
        )
    engine.dispose()
    yield url, table


@pytest.mark.parametrize("agent_calls", ["duckdb", PG], indirect=True)
def test_common_short_names_map_to_their_roles_and_named_text_is_no_cohort(tmp_path, agent_calls):
    url, table = agent_calls
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitor = load_monitors(monitors).monitors[0]
    source = monitor.source
    columns = source.columns
    assert columns["prompt_version"] == "prompt_rev"  # not taken as input text
    assert columns["input"] == "question" and columns["output"] == "answer"
    assert columns["prompt_tokens"] == "in_tok" and columns["completion_tokens"] == "out_tok"
    assert columns["context"] == "ctx" and columns["tool_calls"] == "tools"
    assert source.cohorts == ["tenant"]  # neither ctx nor doc_summary, 4 values each
    checks = {(e.kind, getattr(e, "column", None)) for e in monitor.validation.expectations}
    # JSONB is parsed by PostgreSQL, and psycopg hands a window lists, which fail a parse
    # check of text: json_parses only where the column is text (DuckDB reflects JSON so)
    assert (("json_parses", "tool_calls") in checks) == url.startswith("duckdb")
    text = monitors.read_text()
    assert "doc_summary: named like text ('doc')" in text and "not a cohort" in text
    check = _cli(
        "validate-config", "--check-warehouse",
        "--profiles", tmp_path / "cfg" / "profiles.yml", "--monitors", monitors,
    )  # fmt: skip
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(
    "unordered", ["duckdb", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)
def test_the_header_counts_the_rows_when_it_read_every_one_and_says_when_it_cannot(
    tmp_path, unordered
):
    """A view (a MariaDB table without an index on its event time) read in no order: it said
    `? rows` and "may not be the newest" although every row's event time had been read."""
    url, table, _ = unordered
    result = _init(tmp_path, url, table)
    assert result.exit_code == 0, result.output
    header = " ".join(result.output.split("Proposed mapping")[0].split())
    assert f"{table} in " in header and ": 11,520 rows, " in header, header
    assert "every event time, 11,520 rows (fewer than the 50,000 it reads at most)" in header
    assert "may not be the newest" not in header and "?" not in header


def _duckdb_view(tmp_path, frame: pd.DataFrame) -> str:
    """A DuckDB warehouse whose view `log_v` shows `frame` (table `log`): no sampling clause,
    no newest-first order."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="log")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW log_v AS SELECT * FROM log")
    engine.dispose()
    return url


def test_the_header_says_the_row_count_is_unknown_rather_than_a_question_mark(tmp_path):
    times = pd.date_range("2026-11-01", periods=60_000, freq="20s").astype("datetime64[us]")
    frame = pd.DataFrame({"request_id": [f"r{i}" for i in range(len(times))], "ts": times})
    url = _duckdb_view(tmp_path, frame)
    result = _init(tmp_path, url, "log_v")
    assert result.exit_code == 0, result.output
    header = " ".join(result.output.split("Proposed mapping")[0].split())
    assert "log_v in " in header and ": rows unknown (no count without a full scan), " in header
    assert "? rows" not in header


def _init_with_future(tmp_path: Path, dialect: str, at: pd.Timestamp, rows: int):
    """`lookout init` on requests_frame() plus `rows` rows logged at `at` (a clock bug: a
    tenant and a status of their own); the result and the monitor it wrote, which must
    propose the real rows' cohorts."""
    frame = requests_frame(hours=48)
    future = pd.concat([frame.iloc[[0]]] * rows, ignore_index=True)
    future["created"] = at
    future["req_uuid"] = [f"future-{i}" for i in range(rows)]
    future["tenant_tier"], future["http_status"] = "clock-bug", 503
    suffix = "sqlite" if dialect == "sqlite" else "duckdb"
    url = f"{dialect}:///{tmp_path / f'wh.{suffix}'}"
    engine = sa.create_engine(url)
    load_requests(engine, pd.concat([frame, future], ignore_index=True))
    engine.dispose()
    result = _init(tmp_path, url, "requests")
    assert result.exit_code == 0, result.output
    monitor = load_monitors(tmp_path / "cfg" / "monitors.yml").monitors[0]
    assert {"tenant_tier", "region"} <= set(monitor.source.cohorts)
    return result, monitor


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])  # a vector sample; newest rows first
def test_a_row_dated_in_the_future_does_not_make_the_newest_day(tmp_path, dialect):
    """One row of next year (a client's clock) was the table's newest: init sized a 1-day
    window on "0.6 rows an hour", read that row alone as the newest day, and proposed no
    cohort and the ok statuses of one row. It is left out, and said so."""
    at = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None) + timedelta(days=200))
    _, monitor = _init_with_future(tmp_path, dialect, at, rows=1)
    assert monitor.window.size == timedelta(hours=3)  # as without the row (~20 rows an hour)
    assert "503" not in monitor.source.ok_statuses
    text = _flat((tmp_path / "cfg" / "monitors.yml").read_text())
    assert "1 of the created values read are in the future" in text


def test_more_future_rows_than_init_reads_newest_first_leave_the_real_ones(tmp_path, monkeypatch):
    """Read newest first (SQLite's rowid), rows of 2099-12-31 were every row of the read's
    budget: "no row has a readable created". The read is bounded above in the query."""
    import lookout.services.init_sample as init_sample

    monkeypatch.setattr(init_sample, "NEWEST_ROWS", 200)
    at = pd.Timestamp("2099-12-31 00:00:00")
    result, _ = _init_with_future(tmp_path, "sqlite", at, rows=300)
    said = _flat(result.output)
    assert "300 of the created values read are in the future (up to 2099-12-31" in said


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)]
)
def test_a_sample_without_an_order_is_shuffled_not_the_storage_order(
    engine_name, tmp_path, request
):
    """A ClickHouse table sorted by (type, ...) gave init the first 5,000 rows of the day: one
    type only, and a note that a column is empty on "exactly the rows with type EVENT" (trial
    J). Without a cheap newest-first order (ClickHouse, a view) the day's rows are shuffled."""
    from lookout.services.init_sample import SAMPLE_ROWS
    from lookout.services.init_table import read_table

    url = (
        f"duckdb:///{tmp_path / 'wh.duckdb'}"
        if engine_name == "duckdb"
        else request.getfixturevalue("chdb_url")
    )
    n = 3 * SAMPLE_ROWS
    kinds = ["EVENT"] * (2 * SAMPLE_ROWS) + ["GENERATION"] * SAMPLE_ROWS  # stored in this order
    frame = pd.DataFrame(
        {
            "id": [f"obs-{i}" for i in range(n)],
            "start_time": pd.date_range("2026-11-03", periods=n, freq="5s").astype(
                "datetime64[us]"
            ),
            "type": kinds,
        }
    )
    engine = sa.create_engine(url)
    write_table(engine, frame, table="observations")
    table = "observations"
    if engine_name == "duckdb":  # a view: no sampling clause, no newest-first order
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE VIEW obs_view AS SELECT * FROM observations")
        table = "obs_view"
    engine.dispose()
    sample = read_table(url, table).sample
    shares = sample["type"].value_counts(normalize=True)
    assert len(sample) == SAMPLE_ROWS
    assert 0.2 < shares.get("GENERATION", 0.0) < 0.5  # a third of the day's rows


def test_a_view_over_a_table_filled_oldest_first_is_read_from_its_newest_day(tmp_path):
    """Trial K read its table through a view: the first 50,000 rows a view returns follow its
    storage, so init's traffic (184.7 an hour where 450 were logged) and its "newest day" (four
    days old, with an error burst in it) came from the oldest rows. Without an order to read
    the newest rows first, the newest event time is max(ts) and the day before it is counted."""
    from lookout.services.init_sample import NEWEST_ROWS
    from lookout.services.init_table import read_table

    days, per_hour = 10, 450
    n = days * 24 * per_hour
    assert n > NEWEST_ROWS
    newest = pd.Timestamp("2026-11-20 12:00")
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            # stored oldest first, evenly spread: 450 rows an hour
            "created": pd.date_range(end=newest, periods=n, freq="8s").astype("datetime64[us]"),
            "day": pd.Series(range(days)).repeat(24 * per_hour).to_numpy(),
        }
    )
    url = _duckdb_view(tmp_path, frame)
    read = read_table(url, "log_v")
    assert read.traffic.rows_per_hour == pytest.approx(per_hour, rel=0.01)
    assert pd.Timestamp(read.traffic.newest).tz_localize(None) == newest
    assert set(read.sample["day"]) == {days - 1}  # the newest day's rows, not the first day's
    assert "max(created)" in read.traffic.method
