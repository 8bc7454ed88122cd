"""Validation with Great Expectations on DuckDB, SQLite and PostgreSQL: every compact kind
passes and fails where it should, the SQL and DataFrame paths agree, quarantine is exact."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, PROFILES_YAML, T0, write_table
from tests.fixtures.fake_secrets import SLACK_SECRET

from lookout.checks.validation.runner import GxRunner
from lookout.checks.validation.stage import plan_suite, run_validation
from lookout.config.loader import load_config, load_monitors
from lookout.errors import ConfigError
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

WINDOW = Window(T0, T0 + timedelta(hours=1))

MONITORS = """
owners:
  team: {{slack_users: [U0TEAM01], channel: "#team"}}
monitors:
  - name: bot
    source:
      table: app_requests
{schema_line}      columns:
        record_id: request_id
        ts: event_time
        model_version: model_version
        prompt_version: prompt_version
        route: route
        latency_ms: latency_ms
        ttft_ms: ttft_ms
        status: status
        output: response
        tool_calls: tool_calls
      cohorts: [route]
    validation:
      max_quarantine_share: {max_share}
      expectations:
        - {{kind: not_null, column: ttft_ms}}
        - {{kind: between, column: latency_ms, min: 0, severity: critical}}
        - {{kind: in_set, column: status, values: [ok, error], severity: critical}}
        - {{kind: unique, column: record_id, severity: critical}}
        - {{kind: regex, column: route, pattern: "^[a-z]+$"}}
        - {{kind: max_length, column: output, max: 20}}
        - {{kind: json_parses, column: tool_calls}}
        - {{kind: mean_between, column: latency_ms, min: 0, max: 1000}}
        - {{kind: quantile_between, column: latency_ms, quantile: 0.5, min: 100, max: 1000}}
        - {{kind: row_count_between, min: 5, max: 15}}
        - {{kind: columns_present, columns: [latency_ms, route]}}
        - {{kind: fresh, max_age: 30m}}
        - {{kind: mean_between, name: mean_high, column: latency_ms, min: 600}}
        - {{kind: quantile_between, name: p50_low, column: latency_ms, quantile: 0.5, max: 100}}
        - {{kind: row_count_between, name: rows_many, min: 11}}
        - {{kind: columns_present, name: has_user_id, columns: [user_id, latency_ms]}}
    rules:
      - {{name: dq, metric: validation_failed_expectations, op: ">", threshold: 0, min_n: 1,
         owner: team}}
      - {{name: latency_ok, metric: validation.between_latency_ms, op: ">", threshold: 0.05,
         min_n: 1, owner: team}}
"""


def _frame() -> pd.DataFrame:
    """m1@p1: 10 rows over the hour; m2@p2: 10 rows in its first 10 minutes (stale)."""
    rows = []
    for i in range(10):
        rows.append(("m1", "p1", f"a{i}", T0 + timedelta(minutes=6 * i)))
    for i in range(10):
        rows.append(("m2", "p2", f"b{i}", T0 + timedelta(minutes=i)))
    frame = pd.DataFrame(rows, columns=["model_version", "prompt_version", "request_id", "ts"])
    frame["event_time"] = frame.pop("ts").dt.tz_localize(None).astype("datetime64[us]")
    frame["route"] = "faq"
    frame["latency_ms"] = 500.0
    frame["ttft_ms"] = 100.0
    frame["status"] = "ok"
    frame["response"] = "short answer"
    frame["tool_calls"] = '[{"name": "lookup"}]'
    # release m1: one negative latency, a duplicated id, a bad route, bad JSON, a null ttft
    frame.loc[3, "latency_ms"] = -5.0
    frame.loc[[5, 6], "request_id"] = "dup"
    frame.loc[6, "route"] = "Bad Route"
    frame.loc[4, "tool_calls"] = "not json"
    frame.loc[2, "ttft_ms"] = None
    # release m2: an unknown status, a long output
    frame.loc[18, "status"] = "weird"
    frame.loc[19, "response"] = "x" * 50
    return frame


EXPECTED = {
    "m1@p1": {
        "not_null_ttft_ms": ("failed", 1),
        "between_latency_ms": ("failed", 1),
        "in_set_status": ("passed", 0),
        "unique_record_id": ("failed", 2),
        "regex_route": ("failed", 1),
        "max_length_output": ("passed", 0),
        "json_parses_tool_calls": ("failed", 1),
        "mean_between_latency_ms": ("passed", None),
        "quantile_between_latency_ms": ("passed", None),
        "row_count_between": ("passed", None),
        "fresh_ts": ("passed", None),
        "mean_high": ("failed", None),
        "p50_low": ("failed", None),
        "rows_many": ("failed", None),
    },
    "m2@p2": {
        "not_null_ttft_ms": ("passed", 0),
        "between_latency_ms": ("passed", 0),
        "in_set_status": ("failed", 1),
        "unique_record_id": ("passed", 0),
        "regex_route": ("passed", 0),
        "max_length_output": ("failed", 1),
        "json_parses_tool_calls": ("passed", 0),
        "mean_between_latency_ms": ("passed", None),
        "quantile_between_latency_ms": ("passed", None),
        "row_count_between": ("passed", None),
        "fresh_ts": ("failed", None),
        "mean_high": ("failed", None),
        "p50_low": ("failed", None),
        "rows_many": ("failed", None),
    },
    # schema checks look at the table once per window
    "*": {"columns_present": ("passed", None), "has_user_id": ("failed", None)},
}


def _setup(
    kind: str,
    tmp_path: Path,
    request,
    max_share: float = 0.5,
    frame: pd.DataFrame | None = None,
    statuses: str = "[ok, error]",
):
    schema = None
    if kind == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    elif kind == "mysql":
        url = request.getfixturevalue("mysql_database")
    elif kind == "clickhouse":
        url = request.getfixturevalue("chdb_url")
    elif kind == "snowflake":
        url = request.getfixturevalue("snowflake_url")
    elif kind == "postgresql-own-database":  # nobody else's sessions (their GX temp tables)
        url = request.getfixturevalue("pg_database")
    else:
        url, schema = request.getfixturevalue("pg_schema")
    engine = sa.create_engine(url)
    write_table(engine, _frame() if frame is None else frame, schema=schema)
    engine.dispose()
    schema_line = f"      schema: {schema}\n" if schema else ""
    (tmp_path / "monitors.yml").write_text(
        MONITORS.format(schema_line=schema_line, max_share=max_share).replace(
            "values: [ok, error]", f"values: {statuses}"
        )
    )
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store="sqlite://", out_dir=tmp_path / "out")
    )
    config = load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml")
    return url, Warehouse(url), config.monitors.monitors[0]


BACKENDS = ALL_ENGINES


@pytest.fixture(scope="module")
def runner():
    gx = GxRunner()
    yield gx
    gx.close()


def _table(result) -> dict[str, dict[str, tuple[str, int | None]]]:
    out: dict[str, dict[str, tuple[str, int | None]]] = {}
    for o in result.outcomes:
        assert o.error is None, (o.name, o.error)
        out.setdefault(o.release, {})[o.name] = (o.status, o.unexpected_count)
    return out


def _validate(warehouse, monitor, url: str, runner, pushdown: bool):
    """The window validated on one path (`pushdown`: GX in SQL where the engine can)."""
    return run_validation(
        warehouse,
        monitor,
        WINDOW,
        planned=plan_suite(monitor),
        runner=runner,
        connection_string=url,
        pushdown=pushdown,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kind_on_both_paths(backend, tmp_path, request, runner):
    url, warehouse, monitor = _setup(backend, tmp_path, request)
    sql = _validate(warehouse, monitor, url, runner, True)
    frame = _validate(warehouse, monitor, url, runner, False)
    assert frame.path == "pandas"
    assert _table(frame) == EXPECTED
    assert _table(sql) == EXPECTED
    if warehouse.capabilities.not_in_sql is None:  # GX has no SQL engine there (ClickHouse)
        assert sql.path == "pandas"
        warehouse.dispose()
        return
    assert sql.path == "sql"

    # paths agree on everything stored, not only the verdicts
    def stored(result):
        return {
            (o.release, o.name): (o.element_count, o.unexpected_percent) for o in result.outcomes
        }

    assert stored(sql) == stored(frame)
    # JSON parsing cannot run in SQL: it ran on a DataFrame of its own columns
    assert {o.path for o in sql.outcomes if o.kind == "json_parses"} == {"pandas"}
    assert {o.path for o in sql.outcomes if o.kind == "between"} == {"sql"}
    warehouse.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_with_colons_are_validated_as_logged(backend, tmp_path, request, runner, caplog):
    """GX reads a query asset with SQLAlchemy's `text()`, where `/:canary` in a literal is a
    bind parameter: a release holding one failed every SQL metric of its batch. Such a window
    is validated on its DataFrame, with the same verdicts; `in_set` values with colons (GX
    binds those itself) and releases without are validated in SQL."""
    frame = _frame()
    frame["status"] = frame["status"].replace("ok", "(:ok)")
    url, warehouse, monitor = _setup(
        backend, tmp_path, request, frame=frame, statuses="['(:ok)', error]"
    )

    in_sql = warehouse.capabilities.not_in_sql is not None  # GX runs SQL there
    clean = _validate(warehouse, monitor, url, runner, True)
    assert _table(clean) == EXPECTED
    assert clean.path == ("sql" if in_sql else "pandas")

    warehouse.dispose()
    frame["model_version"] = frame["model_version"].replace("m1", "svc/:canary")
    (tmp_path / "colons").mkdir()  # a new file: the runner holds the first one open (DuckDB)
    url, warehouse, monitor = _setup(
        backend, tmp_path / "colons", request, frame=frame, statuses="['(:ok)', error]"
    )
    caplog.set_level("INFO", logger="lookout")
    colons = _validate(warehouse, monitor, url, runner, True)
    renamed = {"m1@p1": "svc/:canary@p1", "m2@p2": "m2@p2", "*": "*"}
    expected = {renamed[release]: verdicts for release, verdicts in EXPECTED.items()}
    assert _table(colons) == expected == _table(_validate(warehouse, monitor, url, runner, False))
    assert colons.path == "pandas"
    if in_sql:
        assert "'svc/:canary@p1'" in caplog.text
        assert "validating the window in pandas" in caplog.text
    warehouse.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_quarantine_is_exact_with_reasons(backend, tmp_path, request, runner):
    url, warehouse, monitor = _setup(backend, tmp_path, request)
    for pushdown in (True, False):
        result = _validate(warehouse, monitor, url, runner, pushdown)
        assert result.quarantined == {
            "a3": ("between_latency_ms",),
            "dup": ("unique_record_id",),
            "b8": ("in_set_status",),
        }
        assert result.quarantined_release == {"a3": "m1@p1", "dup": "m1@p1", "b8": "m2@p2"}
        assert result.reasons == {
            "between_latency_ms": 1,
            "unique_record_id": 1,
            "in_set_status": 1,
        }
        assert result.flag is None  # 3 of 20 <= 50%
        metrics = {(m.release, m.metric): m for m in result.metrics()}
        assert metrics[("m1@p1", "validation_failed_expectations")].value == 8
        assert metrics[("m2@p2", "validation_failed_expectations")].value == 6
        assert metrics[("*", "validation.has_user_id")].value == 1.0
        assert metrics[("m1@p1", "quarantine_rate")].value == pytest.approx(2 / 10)
        assert metrics[("m1@p1", "validation.between_latency_ms")].value == pytest.approx(0.1)
    warehouse.dispose()


def test_window_is_flagged_when_too_much_is_quarantined(tmp_path, request, runner):
    url, warehouse, monitor = _setup("duckdb", tmp_path, request, max_share=0.1)
    result = run_validation(
        warehouse,
        monitor,
        WINDOW,
        planned=plan_suite(monitor),
        runner=runner,
        connection_string=url,
    )
    assert result.flag == "quarantined 3 of 20 rows (15.0% > 10%)"
    warehouse.dispose()


def test_default_suite_when_none_is_declared(tmp_path):
    text = MONITORS.format(schema_line="", max_share=0.5)
    text = (
        text[: text.index("      expectations:")]
        + "      statuses: [ok, error]\n"
        + text[text.index("    rules:") :]
    )
    text = text.replace("validation.between_latency_ms", "validation.between_ttft_ms")
    (tmp_path / "monitors.yml").write_text(text)
    monitor = load_monitors(tmp_path / "monitors.yml").monitors[0]
    names = [(p.name, p.severity) for p in plan_suite(monitor)]
    assert names == [
        ("not_null_record_id", "critical"),
        ("unique_record_id", "warning"),
        ("not_null_ts", "critical"),
        ("between_latency_ms", "critical"),
        ("between_ttft_ms", "critical"),
        ("in_set_status", "warning"),
        ("not_null_model_version", "warning"),
        ("not_null_prompt_version", "warning"),
    ]


def test_gx_suite_file_runs_too(tmp_path, request, runner):
    url, warehouse, monitor = _setup("sqlite", tmp_path, request)
    suite = {
        "name": "team_suite",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "latency_ms", "max_value": 400},
            },
        ],
    }
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    text = (
        (tmp_path / "monitors.yml")
        .read_text()
        .replace(
            "      max_quarantine_share", "      suite_file: suite.json\n      max_quarantine_share"
        )
    )
    (tmp_path / "monitors.yml").write_text(text)
    config = load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml")
    monitor = config.monitors.monitors[0]
    planned = plan_suite(monitor, config.monitors_dir)
    assert planned[-1].name == "suite_column_values_to_be_between_latency_ms"
    result = run_validation(
        warehouse,
        monitor,
        WINDOW,
        planned=planned,
        runner=runner,
        connection_string=url,
        pushdown=True,
    )
    team = {
        o.release: (o.status, o.unexpected_count)
        for o in result.outcomes
        if o.name == planned[-1].name
    }
    assert team == {"m1@p1": ("failed", 9), "m2@p2": ("failed", 10)}
    warehouse.dispose()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "{kind: not_null, column: ttft_ms}",
            "{kind: not_nul, column: ttft_ms}",
            "monitors[0].validation.expectations[0].kind: unknown expectation kind 'not_nul'",
        ),
        (
            "{kind: not_null, column: ttft_ms}",
            "{kind: not_null, column: tftt_ms}",
            "monitors[0].validation.expectations[0].column: 'tftt_ms' is not a mapped field",
        ),
        (
            "max: 20}",
            "max: twenty}",
            "monitors[0].validation.expectations[5].max: expected an integer",
        ),
        (
            "quantile: 0.5,",
            "quantile: 5,",
            "monitors[0].validation.expectations[8].quantile: Input should be less than or equal",
        ),
        (
            "{kind: row_count_between, min: 5, max: 15}",
            "{kind: row_count_between, min: 5, max: 15, severity: critical}",
            "monitors[0].validation.expectations[9].severity: only row-level expectations",
        ),
        (
            'pattern: "^[a-z]+$"',
            'pattern: "([a-z"',
            "monitors[0].validation.expectations[4].pattern: not a valid regular expression",
        ),
        (
            "metric: validation.between_latency_ms",
            "metric: validation.nope",
            "monitors[0].rules[1].metric: no expectation named 'nope'",
        ),
        (
            "{kind: fresh, max_age: 30m}",
            "{kind: fresh, max_age: soon}",
            "monitors[0].validation.expectations[11].max_age: expected a duration",
        ),
    ],
)
def test_bad_validation_config_names_the_key_path(tmp_path, old, new, expected):
    text = MONITORS.format(schema_line="", max_share=0.5)
    assert old in text
    (tmp_path / "monitors.yml").write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_monitors(tmp_path / "monitors.yml")
    messages = [str(issue) for issue in info.value.issues]
    assert any(expected in m for m in messages), messages
    assert all(m.startswith("monitors.yml:") for m in messages)


# `pushdown: auto` on DuckDB validates in SQL from `SQL_FROM_ROWS` rows a window (20 here)
@pytest.mark.parametrize("sql_from_rows, path", [(20, "sql"), (21, "pandas")])
def test_run_window_stores_validations_quarantine_and_alerts(
    tmp_path, request, monkeypatch, sql_from_rows, path
):
    from lookout.checks.validation import stage
    from lookout.pipeline import Context, run_window

    monkeypatch.setattr(stage, "SQL_FROM_ROWS", sql_from_rows)
    url, warehouse, _ = _setup("duckdb", tmp_path, request, max_share=0.1)
    warehouse.dispose()
    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=store_url, out_dir=tmp_path / "out")
    )
    ctx = Context.from_config(load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml"))
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, WINDOW)
    assert result.status == "succeeded", result.error
    assert (result.quarantined, result.failed_expectations) == (3, 15)
    assert monitor.validation.pushdown == "auto" and result.validation_path == path
    assert result.flag == "quarantined 3 of 20 rows (15.0% > 10%)"
    stored = ctx.store.validations("bot", status="failed")
    assert {(r["release"], r["expectation"]) for r in stored} == {
        (release, name)
        for release, table in EXPECTED.items()
        for name, (status, _) in table.items()
        if status == "failed"
    }
    between = next(r for r in stored if r["expectation"] == "between_latency_ms")
    assert json.loads(between["examples"]) == ["a3"] and between["unexpected_count"] == 1
    assert [(q["record_id"], q["reasons"]) for q in ctx.store.quarantined("bot")] == [
        ("a3", "between_latency_ms"),
        ("b8", "in_set_status"),
        ("dup", "unique_record_id"),
    ]
    with ctx.store.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT quarantined, flag FROM windows")).one()
    assert tuple(row) == (3, "quarantined 3 of 20 rows (15.0% > 10%)")
    opened = {(a.rule, a.release) for a in ctx.store.alerts("bot", state="firing")}
    assert opened == {("dq", "m1@p1"), ("dq", "m2@p2"), ("dq", "*"), ("latency_ok", "m1@p1")}
    # a re-run replaces, never duplicates
    run_window(ctx, monitor, WINDOW)
    assert len(ctx.store.quarantined("bot")) == 3
    assert len(ctx.store.validations("bot")) == 30
    ctx.close()


def test_an_empty_window_still_reports_table_level_expectations(tmp_path, request, runner):
    url, warehouse, monitor = _setup("duckdb", tmp_path, request)
    empty = Window(T0 + timedelta(hours=5), T0 + timedelta(hours=6))
    for pushdown in (True, False):
        result = run_validation(
            warehouse,
            monitor,
            empty,
            planned=plan_suite(monitor),
            runner=runner,
            connection_string=url,
            pushdown=pushdown,
        )
        statuses = {o.name: o.status for o in result.outcomes}
        assert {o.release for o in result.outcomes} == {"*"}
        assert statuses["has_user_id"] == "failed" and statuses["columns_present"] == "passed"
        assert statuses["row_count_between"] == "failed"
        assert statuses["between_latency_ms"] == "passed"
        assert statuses["fresh_ts"] != "passed"
        assert result.rows == 0 and result.quarantined == {} and result.flag is None
    warehouse.dispose()


def test_connection_failures_never_show_the_password(runner):
    from lookout.errors import CheckError

    with pytest.raises(CheckError) as info:
        runner.sql_batch("postgresql+psycopg://lookout:sekrit-pw-42@127.0.0.1:1/wh", "SELECT 1")
    assert "sekrit-pw-42" not in str(info.value)
    assert "validation" in str(info.value)


def test_run_errors_are_redacted_before_they_are_stored(tmp_path):
    from lookout.pipeline import redact_secrets

    (tmp_path / "monitors.yml").write_text(MONITORS.format(schema_line="", max_share=0.5))
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse="postgresql://u:wh-secret-1@db/x", store="sqlite://", out_dir=tmp_path
        )
    )
    config = load_config(
        tmp_path / "profiles.yml",
        tmp_path / "monitors.yml",
        environ={"TEST_SLACK_TOKEN": SLACK_SECRET},
    )
    text = f"failed: postgresql://u:wh-secret-1@db/x and token {SLACK_SECRET}"
    assert redact_secrets(text, config) == "failed: postgresql://u:***@db/x and token ***"


@pytest.mark.postgres
def test_postgres_temp_tables_are_dropped_after_each_batch(tmp_path, request, runner):
    # a database of its own: pg_class shows the temp tables of every session in a database,
    # and other tests validate in the shared one at the same time
    url, warehouse, monitor = _setup("postgresql-own-database", tmp_path, request)
    result = run_validation(
        warehouse,
        monitor,
        WINDOW,
        planned=plan_suite(monitor),
        runner=runner,
        connection_string=url,
        pushdown=True,
    )
    assert result.path == "sql" and not [o for o in result.outcomes if o.status == "error"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE 'gx\\_temp\\_%'")
        ).scalar()
    engine.dispose()
    assert left == 0
    warehouse.dispose()


def test_validation_can_be_switched_off(tmp_path, request):
    from lookout.pipeline import Context, run_window

    url, warehouse, _ = _setup("sqlite", tmp_path, request)
    warehouse.dispose()
    text = (
        (tmp_path / "monitors.yml")
        .read_text()
        .replace("    validation:\n", "    validation:\n      enabled: false\n")
    )
    (tmp_path / "monitors.yml").write_text(text)
    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=store_url, out_dir=tmp_path / "out")
    )
    ctx = Context.from_config(load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml"))
    result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
    assert result.status == "succeeded", result.error
    assert (result.validation_path, result.quarantined, result.failed_expectations) == ("off", 0, 0)
    assert ctx.store.validations("bot") == [] and ctx.store.quarantined("bot") == []
    assert not [m for m in ctx.store.metrics("bot") if m["metric"].startswith("validation")]
    ctx.close()


@pytest.mark.postgres
def test_json_parses_passes_a_jsonb_column_the_driver_hands_over_parsed(tmp_path, request, runner):
    """psycopg returns a JSONB column as dicts and lists: JSON by construction, so
    `json_parses` passes it (it failed every row on a value that is not a string). Text
    beside it that is not JSON still fails."""
    url, warehouse, monitor = _setup("postgresql", tmp_path, request)
    schema = monitor.source.schema_
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'ALTER TABLE "{schema}".app_requests ADD COLUMN tools_jsonb JSONB'))
        conn.execute(
            sa.text(f'UPDATE "{schema}".app_requests SET tools_jsonb = CAST(:v AS JSONB)'),
            {"v": '[{"name": "lookup", "args": {"q": "quota"}}]'},
        )
    engine.dispose()
    warehouse.dispose()
    text = (
        (tmp_path / "monitors.yml")
        .read_text()
        .replace("tool_calls: tool_calls", "tool_calls: tools_jsonb")
    )
    (tmp_path / "monitors.yml").write_text(text)
    config = load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml")
    monitor = config.monitors.monitors[0]
    warehouse = Warehouse(url)
    result = run_validation(
        warehouse,
        monitor,
        WINDOW,
        planned=plan_suite(monitor),
        runner=runner,
        connection_string=url,
        pushdown=True,
    )
    parses = {
        o.release: (o.status, o.unexpected_count)
        for o in result.outcomes
        if o.kind == "json_parses"
    }
    assert parses == {"m1@p1": ("passed", 0), "m2@p2": ("passed", 0)}
    warehouse.dispose()
