"""Shared fixtures: real warehouses (DuckDB, SQLite, PostgreSQL, MariaDB, ClickHouse on chDB,
Snowflake on the fakesnow emulator) loaded with the same records."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from lookout.config.loader import LookoutConfig, load_config
from lookout.store import ResultsStore

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PG_URL = os.environ.get("LOOKOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("LOOKOUT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
T0 = datetime(2026, 11, 2, tzinfo=UTC)


# The modules that take longest, longest first (measured with `--durations`). pytest-xdist's
# `loadscope` hands each worker whole modules in collection order and by default moves modules
# with few tests to the end, which put the two-minute demo test last and left the other workers
# idle while it ran (`--no-loadscope-reorder` in pyproject.toml keeps this order instead).
LONGEST_MODULES = (
    "tests/demo/test_demo.py",
    "tests/e2e/test_prefect_deployments.py",
    "tests/cli/test_cli_polish.py",
    "tests/flows/test_failure_notices.py",
    "tests/e2e/test_lookout_deploy.py",
    "tests/e2e/test_own_table.py",
    "tests/cli/test_init_command.py",
    "tests/checks/drift/test_drift_pipeline.py",
    # long for their few tests: left to the end by size, they made the last worker's tail
    "tests/notify/test_delivery_state_machine.py",
    "tests/reports/test_reports.py",
    "tests/cli/test_backfill_command.py",
    "tests/e2e/test_model_features.py",
    "tests/test_durations.py",
    "tests/flows/test_nightly.py",
    "tests/faults/test_bad_input.py",
    "tests/test_secrets.py",
    "tests/cli/test_init_litellm.py",
)


# The suite's three tiers, as markers each test gets from what it needs (`pytest -m unit`):
# e2e starts a Prefect API, worker processes or a browser; integration talks to a database
# server or emulator; unit runs in one process (in-process DuckDB and SQLite files at most).
_E2E_FOLDERS = ("tests/e2e/", "tests/demo/")
_E2E_MARKS = frozenset({"prefect", "slow"})
_SERVER_MARKS = frozenset({"postgres", "mysql", "clickhouse", "snowflake"})
_SERVER_FIXTURES = frozenset(
    {"pg_url", "pg_schema", "pg_database", "mysql_url", "mysql_database", "chdb_url"}
    | {"fakesnow_server", "snowflake_url"}
)


def _tier(item: pytest.Item) -> str:
    """`unit`, `integration` or `e2e`: what the test needs, from its folder, marks and
    fixtures."""
    marks = {mark.name for mark in item.iter_markers()}
    fixtures = set(getattr(item, "fixturenames", ()))
    if item.nodeid.startswith(_E2E_FOLDERS) or marks & _E2E_MARKS or "prefect_api" in fixtures:
        return "e2e"
    if marks & _SERVER_MARKS or _SERVER_FIXTURES & fixtures:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test marked with its tier; longest modules first, then the rest by number of
    tests (what xdist would do); a module's tests stay together and in their order."""
    for item in items:
        item.add_marker(_tier(item))
    sizes: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        module = item.nodeid.split("::", 1)[0]
        sizes[module] = sizes.get(module, 0) + 1
        first.setdefault(module, index)

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        module = item.nodeid.split("::", 1)[0]
        known = LONGEST_MODULES.index(module) if module in LONGEST_MODULES else len(LONGEST_MODULES)
        return known, -sizes[module], first[module]

    items.sort(key=rank)


# Every engine Lookout reads, as test parameters (the server-backed ones marked).
ALL_ENGINES = [
    "duckdb",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("clickhouse", marks=pytest.mark.clickhouse),
    pytest.param("snowflake", marks=pytest.mark.snowflake),
]


def make_requests(hours: int = 3, per_hour: int = 200, seed: int = 1) -> pd.DataFrame:
    """Small deterministic request log with the demo's column names (naive UTC timestamps)."""
    rng = np.random.default_rng(seed)
    n = hours * per_hour
    offsets = np.sort(rng.uniform(0, hours * 3600, n))
    ts = pd.Timestamp(T0.replace(tzinfo=None)) + pd.to_timedelta(offsets, unit="s")
    release2 = rng.random(n) < 0.5
    status = np.where(rng.random(n) < 0.05, "error", "ok")
    latency = rng.lognormal(7, 0.5, n).round(1)
    feedback = rng.choice(
        np.array(["thumbs_up", "thumbs_down", None], dtype=object), n, p=[0.1, 0.05, 0.85]
    )
    return pd.DataFrame(
        {
            "request_id": [f"r{i:06d}" for i in range(n)],
            "event_time": ts.astype("datetime64[us]"),
            "ingested_at": (ts + pd.Timedelta(seconds=5)).astype("datetime64[us]"),
            "model_version": np.where(release2, "m2", "m1"),
            "prompt_version": np.where(release2, "p2", "p1"),
            "route": rng.choice(["faq", "search", "fallback"], n),
            "region": rng.choice(["us", "eu"], n),
            "latency_ms": latency,
            "ttft_ms": np.where(status == "ok", (latency * 0.3).round(1), np.nan),
            "prompt_tokens": rng.integers(50, 500, n),
            "completion_tokens": rng.integers(10, 200, n),
            "cost_usd": rng.uniform(0.0001, 0.002, n).round(6),
            "status": status,
            "is_fallback": rng.random(n) < 0.1,
            "retry_count": rng.choice([0, 0, 0, 1, 2], n),
            "feedback": feedback,
            "session_id": [f"s{i // 2:05d}" for i in range(n)],
            "prompt": ["what is my quota?"] * n,
        }
    )


MONITOR_YAML = """
owners:
  team:
    slack_users: [U0TEAM01]
    channel: "#team"
    runbook_base: https://runbooks.example.com/team
monitors:
  - name: bot
    source:
      table: {table}
{schema_line}      columns:
        record_id: request_id
        ts: event_time
        ingested_at: ingested_at
        model_version: model_version
        prompt_version: prompt_version
        route: route
        input: prompt
        latency_ms: latency_ms
        ttft_ms: ttft_ms
        prompt_tokens: prompt_tokens
        completion_tokens: completion_tokens
        cost_usd: cost_usd
        status: status
        is_fallback: is_fallback
        retry_count: retry_count
        feedback: feedback
        trace_id: session_id
      cohorts: [route, region]
      ok_statuses: [ok]
    window: {{size: 1h, grace: 10m, start: 2026-11-02T00:00:00Z}}
    metrics: {{pushdown: {pushdown}}}
    rules:
      - name: errors
        metric: error_rate
        op: ">"
        threshold: {threshold}
        min_n: 20
        for: 1
        significance: false
        severity: P1
        owner: team
        split_by: ["*", region]
"""


PROFILES_YAML = """
target: test
outputs:
  test:
    warehouse: {{url: "{warehouse}"}}
    store: {{url: "{store}"}}
    out_dir: "{out_dir}"
    slack:
      bot_token: "{{{{ env_var('TEST_SLACK_TOKEN', '') }}}}"
      base_url: "{{{{ env_var('TEST_SLACK_BASE_URL', '') }}}}"
      default_channel: "#fallback"
"""


def text_monitor_yaml(threshold: float, sections: str = "") -> str:
    """MONITOR_YAML with the output and context columns mapped (`answer`, `ctx`) and
    `sections` (drift:, evaluators:, ... at monitor level) inserted before the rules."""
    monitors = MONITOR_YAML.format(
        table="app_requests", schema_line="", pushdown="auto", threshold=threshold
    )
    return monitors.replace(
        "        input: prompt\n",
        "        input: prompt\n        output: answer\n        context: ctx\n",
    ).replace("    rules:\n", sections + "    rules:\n")


def rules_only_context(directory: Path, frame: pd.DataFrame, rules: str) -> Any:
    """A `Context` on a DuckDB warehouse holding `frame`, whose `bot` monitor has validation
    off and only `rules` (YAML list items at the rules' indentation)."""
    from lookout.pipeline import Context

    warehouse = f"duckdb:///{directory / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, frame)
    engine.dispose()
    cfg = directory / "cfg"
    write_config(cfg, warehouse=warehouse, store=f"sqlite:///{directory / 'r.sqlite'}")
    head, _, _ = (cfg / "monitors.yml").read_text().partition("    rules:\n")
    body = "    validation: {enabled: false}\n    rules:\n" + rules.lstrip("\n")
    (cfg / "monitors.yml").write_text(head + body)
    return Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))


def run_hours(ctx: Any, hours: int) -> None:
    """The first monitor's first `hours` hourly windows from T0, in order, each succeeding."""
    from lookout.pipeline import run_window
    from lookout.windows import Window

    monitor = ctx.config.monitors.monitors[0]
    for i in range(hours):
        start = T0 + i * timedelta(hours=1)
        result = run_window(ctx, monitor, Window(start, start + timedelta(hours=1)))
        assert result.status == "succeeded", result.error


def unfolded(ctx: Any) -> Any:
    """`ctx` with `alerting.fold` off: every cohort that breaches is an alert of its own (for
    tests of how several alerts are grouped, digested and threaded)."""
    import dataclasses

    alerting = ctx.config.monitors.alerting.model_copy(update={"fold": False})
    monitors = ctx.config.monitors.model_copy(update={"alerting": alerting})
    ctx.config = dataclasses.replace(ctx.config, monitors=monitors)
    return ctx


def write_config(
    directory: Path,
    *,
    warehouse: str,
    store: str,
    table: str = "app_requests",
    schema: str | None = None,
    pushdown: str = "auto",
    threshold: float = 0.2,
) -> LookoutConfig:
    """Write profiles.yml + monitors.yml for the `bot` monitor and load them."""
    directory.mkdir(parents=True, exist_ok=True)
    schema_line = f"      schema: {schema}\n" if schema else ""
    (directory / "monitors.yml").write_text(
        MONITOR_YAML.format(
            table=table, schema_line=schema_line, pushdown=pushdown, threshold=threshold
        )
    )
    (directory / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=warehouse, store=store, out_dir=directory / "out")
    )
    return load_config(directory / "profiles.yml", directory / "monitors.yml")


def duckdb_project(
    directory: Path,
    frame: pd.DataFrame | None = None,
    *,
    store: str | None = None,
    **config: Any,
) -> LookoutConfig:
    """A DuckDB warehouse `directory/wh.duckdb` holding `frame` (default: make_requests()) and
    the `bot` monitor's config in `directory/cfg`; the store is `directory/results.sqlite`
    unless given. `config` goes to write_config (pushdown, threshold)."""
    directory.mkdir(parents=True, exist_ok=True)
    warehouse = f"duckdb:///{directory / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, make_requests() if frame is None else frame)
    engine.dispose()
    return write_config(
        directory / "cfg",
        warehouse=warehouse,
        store=store or f"sqlite:///{directory / 'results.sqlite'}",
        **config,
    )


def write_tables(url: str, **frames: pd.DataFrame) -> None:
    """Each frame as the table of its name in the warehouse at `url` (`write_table`)."""
    engine = sa.create_engine(url)
    try:
        for table, frame in frames.items():
            write_table(engine, frame, table=table)
    finally:
        engine.dispose()


def write_table(
    engine: sa.Engine, frame: pd.DataFrame, table: str = "app_requests", schema: str | None = None
) -> None:
    if engine.dialect.name == "duckdb":
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            raw.register("frame_view", frame)
            target = f'"{schema}"."{table}"' if schema else f'"{table}"'
            raw.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM frame_view")
            raw.unregister("frame_view")
    elif engine.dialect.name == "clickhousedb":
        _write_clickhouse(engine, frame, table)
    elif engine.dialect.name == "snowflake":
        _write_fakesnow(engine, frame, table)
    elif engine.dialect.name in ("mysql", "mariadb"):
        # DATETIME keeps whole seconds unless asked for microseconds
        from sqlalchemy.dialects.mysql import DATETIME

        times = {
            c: DATETIME(fsp=6) for c in frame if pd.api.types.is_datetime64_any_dtype(frame[c])
        }
        frame.to_sql(
            table,
            engine,
            schema=schema,
            if_exists="replace",
            index=False,
            dtype={**times, **_decimal_types(frame)},
        )
    else:
        frame.to_sql(
            table,
            engine,
            schema=schema,
            if_exists="replace",
            index=False,
            dtype=_decimal_types(frame),
        )


def _decimal_types(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns of `Decimal` values as DECIMAL(18, 4) (pandas would write them as text)."""
    return {c: sa.Numeric(18, 4) for c in frame if _column_kind(frame[c]) == "decimal"}


def _column_kind(column: pd.Series) -> str:
    """What a frame's column holds, for the engines whose tables the tests create by hand."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "timestamp_with_gaps" if column.isna().any() else "timestamp"
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "float"
    present = column.dropna()
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return "bool_with_gaps"  # booleans with gaps (an object column)
    if len(present) and all(isinstance(v, Decimal) for v in present):
        return "decimal"  # DECIMAL(18, 4) (MariaDB's DECIMAL seconds)
    return "text"


_CLICKHOUSE_TYPES = {
    "timestamp": "DateTime64(6)",
    "timestamp_with_gaps": "Nullable(DateTime64(6))",
    "bool": "Bool",
    "integer": "Nullable(Int64)",
    "float": "Nullable(Float64)",
    "bool_with_gaps": "Nullable(Bool)",
    "decimal": "Nullable(Decimal(18, 4))",
    "text": "Nullable(String)",
}
_SNOWFLAKE_TYPES = {
    "timestamp": "TIMESTAMP_NTZ",
    "timestamp_with_gaps": "TIMESTAMP_NTZ",
    "bool": "BOOLEAN",
    "integer": "NUMBER(38, 0)",
    "float": "FLOAT",
    "bool_with_gaps": "BOOLEAN",
    "decimal": "NUMBER(18, 4)",
    "text": "VARCHAR",
}


def _write_clickhouse(engine: sa.Engine, frame: pd.DataFrame, table: str) -> None:
    """A MergeTree table of `frame`'s columns (the dialect's CREATE TABLE needs an engine)."""
    types = {name: _CLICKHOUSE_TYPES[_column_kind(frame[name])] for name in frame}
    columns = ", ".join(f"`{name}` {type_}" for name, type_ in types.items())
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS `{table}`"))
        conn.execute(
            sa.text(f"CREATE TABLE `{table}` ({columns}) ENGINE = MergeTree ORDER BY tuple()")
        )
        client = conn.connection.driver_connection.client
        values = frame.astype(object).where(frame.notna(), None)
        client.insert(table, values.values.tolist(), column_names=list(frame.columns))


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chDB runs one embedded server per process, on one path: tests share it."""
    try:
        import chdb  # noqa: F401
        import clickhouse_connect  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("chdb and clickhouse-connect are required under CI (the `chdb` extra)")
        pytest.skip("chdb not installed (pip install -e '.[chdb]')")
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def chdb_url(chdb_path: Path) -> Iterator[str]:
    """A fresh database in the process's chDB (in-process ClickHouse), as a SQLAlchemy URL."""
    name = f"lk_{uuid.uuid4().hex[:10]}"
    base = f"clickhousedb:///{{}}?dsn=chdb:///{chdb_path}"
    admin = sa.create_engine(base.format("default"))
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    try:
        yield base.format(name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def _write_fakesnow(engine: sa.Engine, frame: pd.DataFrame, table: str) -> None:
    """A Snowflake-typed table of `frame`'s rows, loaded the emulator's way: its inserts run
    row by row (about 5 ms a row), so the rows come from a Parquet file through DuckDB's
    `read_parquet`, which fakesnow passes through (a real Snowflake would PUT + COPY INTO)."""
    types = {name: _SNOWFLAKE_TYPES[_column_kind(frame[name])] for name in frame}
    columns = ", ".join(f'"{name.upper()}" {type_}' for name, type_ in types.items())
    path = Path(tempfile.mkdtemp(prefix="lk-fakesnow-")) / f"{table}.parquet"
    frame.to_parquet(path, index=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE OR REPLACE TABLE "{table.upper()}" ({columns})'))
            conn.execute(
                sa.text(f"INSERT INTO \"{table.upper()}\" SELECT * FROM read_parquet('{path}')")
            )
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    """One fakesnow server (a Snowflake emulator on DuckDB, over HTTP on 127.0.0.1) per test
    process; tests get a database each (`snowflake_url`)."""
    try:
        import fakesnow
        import snowflake.sqlalchemy  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(
                "fakesnow and snowflake-sqlalchemy are required under CI (`snowflake-test`)"
            )
        pytest.skip("fakesnow not installed (pip install -e '.[snowflake-test]')")
    # The emulator speaks http; snowflake-sqlalchemy refuses `protocol` in a URL unless this
    # is set (it would let a URL downgrade a real account's connection). Tests only.
    os.environ["SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS"] = "true"
    logging.getLogger("fakesnow").setLevel(logging.WARNING)
    with fakesnow.server(host="127.0.0.1") as kwargs:
        yield kwargs


@pytest.fixture
def snowflake_url(fakesnow_server: dict[str, Any]) -> Iterator[str]:
    """A fresh database (schema PUBLIC) in the session's fakesnow server, as a SQLAlchemy URL."""
    import snowflake.connector

    name = f"LK_{uuid.uuid4().hex[:10].upper()}"
    with snowflake.connector.connect(**fakesnow_server) as conn:
        conn.cursor().execute(f"CREATE DATABASE {name}")
        conn.cursor().execute(f"CREATE SCHEMA {name}.PUBLIC")
    url = (
        f"snowflake://{fakesnow_server['user']}:{fakesnow_server['password']}"
        f"@{fakesnow_server['host']}:{fakesnow_server['port']}/{name}/PUBLIC"
        f"?account={fakesnow_server['account']}&protocol=http"
    )
    try:
        yield url
    finally:
        with snowflake.connector.connect(**fakesnow_server) as conn:
            # the emulator has no DROP DATABASE: drop its schema (and so its tables)
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {name}.PUBLIC CASCADE")


def postgres_available() -> bool:
    return _reachable(PG_URL)


def _reachable(url: str) -> bool:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> str:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and unreachable at {PG_URL}")
        pytest.skip("PostgreSQL not reachable (set LOOKOUT_TEST_PG_URL)")
    return PG_URL


@pytest.fixture(scope="session")
def mysql_url() -> str:
    if not _reachable(MYSQL_URL):
        if os.environ.get("CI"):
            pytest.fail(f"MariaDB/MySQL is required under CI and unreachable at {MYSQL_URL}")
        pytest.skip("MariaDB/MySQL not reachable (set LOOKOUT_TEST_MYSQL_URL)")
    return MYSQL_URL


@pytest.fixture
def mysql_database(mysql_url: str) -> Iterator[str]:
    """A fresh MariaDB/MySQL database for one test, dropped afterwards; yields its URL."""
    name = f"lk_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = sa.engine.make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[tuple[str, str]]:
    """A fresh schema for one test, dropped afterwards; yields (url, schema)."""
    name = f"lk_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(name))
    try:
        yield pg_url, name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(name, cascade=True))
        engine.dispose()


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh database for one test (results store tests), dropped afterwards."""
    name = f"lk_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> Iterator[Any]:
    """A results store on a SQLite file, then on a fresh PostgreSQL database: the repository,
    summary-cache and delivery tests run on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    else:
        url = request.getfixturevalue("pg_database")
    results = ResultsStore(url)
    yield results
    results.dispose()


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


# Server loop services no test's flow runs use (schedules, late or paused runs, crashed
# workers, cancellations, cleanup): each polls its tables every few seconds, and the three
# workers' servers spent about half their idle CPU on them (measured: 72 against 39 ticks
# in 30 s). Flow, task and event recording stay on.
IDLE_SERVICES = (
    "SCHEDULER",
    "LATE_RUNS",
    "FOREMAN",
    "CANCELLATION_CLEANUP",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "CLEANUP_RECONCILER",
)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One temporary Prefect API (SQLite) for the whole session: real flow and task runs."""
    from prefect.testing.utilities import prefect_test_harness

    harness = prefect_test_harness(server_startup_timeout=120)
    off = {f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in IDLE_SERVICES}
    before = {name: os.environ.get(name) for name in off}
    os.environ.update(off)  # read by the server's subprocess as it starts, and only by it
    try:
        harness.__enter__()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield
    finally:
        harness.__exit__(None, None, None)


_COMMAND_ENV = (
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
)


@pytest.fixture(autouse=True)
def _command_env_restored() -> Iterator[None]:
    """A `lookout` command run in-process (CliRunner) sets what a console process keeps for
    its lifetime (`quiet_prefect`: Prefect's log level, before Prefect starts); tests share a
    process, so those settings are put back after each test instead of leaking into the next
    one's flow logs."""
    before = {name: os.environ.get(name) for name in _COMMAND_ENV}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
