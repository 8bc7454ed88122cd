"""A table other traffic shares (staging next to production, health checks, an internal test
tenant): `source.where` and `where_not` keep only the monitored rows, in every query. A window
of the shared table stores exactly what the same window of a table holding only those rows
stores (metrics pushed down, GX in SQL, alerts, cohorts), on DuckDB and MariaDB; a filter that
cannot match is refused before any run."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
VALIDATION = """\
    validation:
      pushdown: on
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: between, column: latency_ms, min: 0, max: 100000}
        - {kind: in_set, column: route, values: [faq, search, fallback]}
"""
FILTERS = """\
      where: {environment: production}
      where_not: {route: [healthz], tenant_id: [0]}
"""


def _monitored() -> pd.DataFrame:
    frame = make_requests()
    frame["environment"] = "production"
    frame["tenant_id"] = np.arange(len(frame)) % 7 + 1  # customers 1-7
    return frame


def _shared(monitored: pd.DataFrame) -> pd.DataFrame:
    """The monitored rows plus what a shared log also holds: staging (all failing, slow), health
    checks, the internal test tenant 0, and rows whose environment was not logged."""
    staging = monitored.assign(environment="staging", status="error", latency_ms=90_000.0)
    probes = monitored.iloc[::5].assign(route="healthz", latency_ms=2.0)
    internal = monitored.iloc[1::5].assign(tenant_id=0, status="error")
    unknown = monitored.iloc[2::5].assign(environment=None, status="error")
    extra = pd.concat([staging, probes, internal, unknown], ignore_index=True)
    extra["request_id"] = [f"x{i:06d}" for i in range(len(extra))]
    return pd.concat([monitored, extra], ignore_index=True)


def _monitors(table: str) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="on", threshold=0.2)
    text = text.replace("    rules:\n", VALIDATION + "    rules:\n")
    return text.replace("      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + FILTERS)


@pytest.mark.parametrize(
    "backend",
    [
        "duckdb",
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_a_shared_table_filtered_stores_what_a_table_of_only_its_rows_stores(
    backend, tmp_path, request
):
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    else:
        url = request.getfixturevalue(
            "pg_database" if backend == "postgresql" else "mysql_database"
        )
    monitored = _monitored()
    engine = sa.create_engine(url)
    write_table(engine, monitored, table="only_ours")
    write_table(engine, _shared(monitored), table="shared_log")
    engine.dispose()

    ours = stored_by_window(project(tmp_path, url, "ours", _monitors("only_ours")), WINDOW)
    shared = stored_by_window(project(tmp_path, url, "shared", _monitors("shared_log")), WINDOW)
    assert shared == ours
    metrics = {(r[0], r[1], r[2]): (r[3], r[4]) for r in ours["metrics"]}
    in_window = monitored[
        (monitored["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None)))
        & (monitored["event_time"] < pd.Timestamp(WINDOW.end.replace(tzinfo=None)))
    ]
    n = sum(
        v[1] for (release, cohort, m), v in metrics.items() if cohort == "*" and m == "error_rate"
    )
    assert n == len(in_window)  # staging, probes, tenant 0 and unknown rows not counted
    assert not any("healthz" in r[1] for r in ours["metrics"])
    outcomes = {(r[0], r[1]): (r[2], r[4]) for r in ours["validations"]}
    assert outcomes[("m1@p1", "in_set_route")] == ("passed", "sql")  # GX saw no healthz row
    assert not any(r[0] == "errors" and r[2] == "firing" for r in ours["alerts"])


def _config(tmp_path, url: str, filters: str):
    text = _monitors("shared_log").replace(FILTERS, filters)
    tmp_path.mkdir(parents=True, exist_ok=True)
    directory = project(tmp_path, url, "cfg", text)
    return load_config(directory / "profiles.yml", directory / "monitors.yml")


def test_a_filter_its_column_cannot_match_is_named_by_the_warehouse_check(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, _shared(_monitored()), table="shared_log")
    engine.dispose()
    filters = "      where: {env: production}\n      where_not: {tenant_id: [internal]}\n"
    text = _monitors("shared_log").replace(FILTERS, filters)
    message = check_refusal(project(tmp_path, url, "cfg", text), url)
    assert "monitors[0].source.where.env: column 'env' is not in table 'shared_log'" in message
    assert 'monitors[0].source.where_not.tenant_id: none of "internal"' in message


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("      where: {environment: []}\n", "environment: list at least one value"),
        (
            "      where: {latency_ms: [0]}\n      where_not: {ttft_ms: 1}\n      durations:\n"
            "        ttft_ms: {start: event_time, end: ingested_at}\n",
            "monitors[0].source.where_not.ttft_ms: ttft_ms is computed from two times",
        ),
        ('      where: {"environment; --": x}\n', "is not a plain SQL identifier"),
    ],
)
def test_a_filter_that_cannot_be_a_filter_is_a_config_error(tmp_path, filters, expected):
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, "duckdb:///:memory:", filters)
    assert expected in str(raised.value)


def test_a_new_filter_is_a_new_reading_for_stored_drift_summaries_and_cached_profiles(tmp_path):
    """Adding `where` to a running monitor: the stored summaries and the cached reference
    profiles of every environment no longer stand for the production rows it reads now."""
    from lookout.sources.drift_columns import drift_columns
    from lookout.stages.drift.pooling import mark
    from lookout.stages.drift.reference import Reference

    plain = _config(tmp_path / "a", "duckdb:///:memory:", "").monitors.monitors[0]
    kept = _config(tmp_path / "b", "duckdb:///:memory:", FILTERS).monitors.monitors[0]
    columns = drift_columns(plain)
    marks = {mark(columns, ["region"], m.source.reading) for m in (plain, kept)}
    assert len(marks) == 2
    reference = Reference("r", WINDOW)
    assert reference.key(plain, ["x"]) != reference.key(kept, ["x"])


@pytest.mark.parametrize(
    "engine_name", ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_null_in_a_filter_keeps_or_drops_the_rows_where_the_column_is_null(
    engine_name, tmp_path, request
):
    """A trace table's root spans are its rows without a parent (`where: {parent_run_id:
    null}`), a trial's first wish: they store what a table of only those rows stores, and
    `where_not` with `null` keeps the child spans alone."""
    url = engine_url(engine_name, tmp_path, request)
    monitors = lambda table: _monitors(table).replace("pushdown: on", "pushdown: auto")  # noqa: E731
    roots = _monitored().assign(parent_run_id=None)
    children = roots.assign(status="error", latency_ms=40_000.0, parent_run_id="run-1")
    children["request_id"] = [f"c{i:06d}" for i in range(len(children))]
    engine = sa.create_engine(url)
    write_table(engine, roots.drop(columns="parent_run_id"), table="only_ours")
    write_table(engine, pd.concat([roots, children], ignore_index=True), table="spans")
    engine.dispose()
    ours = stored_by_window(project(tmp_path, url, "ours", monitors("only_ours")), WINDOW)
    root_filter = "      where: {environment: production, parent_run_id: null}\n"
    text = monitors("spans").replace(FILTERS, root_filter)
    assert stored_by_window(project(tmp_path, url, "roots", text), WINDOW) == ours
    child_filter = "      where_not: {parent_run_id: [null]}\n"
    text = monitors("spans").replace(FILTERS, child_filter)
    stored = stored_by_window(project(tmp_path, url, "children", text), WINDOW)
    errors = [r for r in stored["metrics"] if r[1] == "*" and r[2] == "error_rate"]
    assert errors and all(r[3] == 1.0 for r in errors)  # only the failing child spans
    assert sum(r[4] for r in errors) == sum(
        (children["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None)))
        & (children["event_time"] < pd.Timestamp(WINDOW.end.replace(tzinfo=None)))
    )


def test_a_filter_value_of_no_kind_is_one_error_naming_every_kind_it_could_be(tmp_path):
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, "duckdb:///:memory:", "      where: {parent_run_id: [[1]]}\n")
    lines = str(raised.value).splitlines()
    said = [line for line in lines if "where.parent_run_id" in line]
    assert len(said) == 1, lines
    assert said[0].endswith(
        "monitors[0].source.where.parent_run_id[0]: expected true or false, an integer, "
        "a number or a string"
    )
