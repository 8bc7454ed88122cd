"""A value that is not a number in a numeric field, on DuckDB, SQLite and PostgreSQL, through
`run_window`: the record is quarantined as `not_a_number:<field>` (counted, with up to five
example ids), left out of every ops metric on both metric paths, and the stored metrics are the
same on every warehouse. Teams log latencies into TEXT columns; SQLite keeps text in a REAL one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, PROFILES_YAML, T0, make_requests, write_table

from lookout.checks.metrics import compute_ops_metrics
from lookout.config.loader import load_config
from lookout.pipeline import Context, metric_settings, run_window
from lookout.windows import Window

H = timedelta(hours=1)
WINDOW = Window(T0, T0 + H)
# Logged latency -> what it is: a number, missing, or not a number (None).
HOSTILE: dict[str, float | None] = {
    "fast": None,
    "": np.nan,  # blank: missing, like NULL
    "1e999": None,  # overflows a double
    "NaN": None,
    "inf": None,
    " 12 ": 12.0,  # padding around a number
    "12ms": None,
}
# record index -> latency text; 7 `fast` records (more than the five examples kept)
PLAN = {i: "fast" for i in range(7)}
PLAN |= {7 + i: text for i, text in enumerate(t for t in HOSTILE if t != "fast")}
PLAN |= {20: "", 21: " 12 "}
NULL_LATENCY = [30, 31]
BAD_RETRY = {22: "two", 9: "2x"}  # 9 is `NaN`: not a number in two fields


def _records() -> pd.DataFrame:
    frame = make_requests(hours=1, per_hour=400)
    frame["latency_ms"] = frame["latency_ms"].astype(object)
    frame["retry_count"] = frame["retry_count"].astype(object)
    frame.loc[NULL_LATENCY, "latency_ms"] = None
    return frame


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The latency and retry columns as TEXT, the way a team's logger writes them."""
    out = frame.copy()
    for column in ("latency_ms", "retry_count"):
        out[column] = [None if v is None else str(v) for v in out[column]]
    for i, text in PLAN.items():
        out.loc[i, "latency_ms"] = text
    for i, text in BAD_RETRY.items():
        out.loc[i, "retry_count"] = text
    return out


def _truth(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """What every warehouse must come to: the clean records with their numbers, and the
    quarantine (record id -> reasons)."""
    values = frame.copy()
    reasons: dict[str, list[str]] = {}
    for i, text in PLAN.items():
        meaning = HOSTILE[text]
        values.loc[i, "latency_ms"] = meaning
        if meaning is None:
            reasons.setdefault(values.loc[i, "request_id"], []).append("not_a_number:latency_ms")
    for i in BAD_RETRY:
        reasons.setdefault(values.loc[i, "request_id"], []).append("not_a_number:retry_count")
    clean = values[~values["request_id"].isin(reasons)].copy()
    clean["latency_ms"] = clean["latency_ms"].astype(float)
    clean["retry_count"] = clean["retry_count"].astype(float)
    return clean, {k: ",".join(v) for k, v in reasons.items()}


def _load(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str | None]:
    frame = _records()
    if backend == "sqlite":
        # REAL and INTEGER columns, then the logger writes text into some of their rows
        url, schema = f"sqlite:///{tmp_path / 'wh.sqlite'}", None
        numeric = frame.copy()
        numeric["latency_ms"] = numeric["latency_ms"].astype(float)
        numeric["retry_count"] = numeric["retry_count"].astype(int)
        engine = sa.create_engine(url)
        write_table(engine, numeric)
        with engine.begin() as conn:
            update = "UPDATE app_requests SET {} = :v WHERE request_id = :id"
            for column, plan in (("latency_ms", PLAN), ("retry_count", BAD_RETRY)):
                conn.execute(
                    sa.text(update.format(column)),
                    [{"v": text, "id": frame.loc[i, "request_id"]} for i, text in plan.items()],
                )
            kinds = conn.execute(
                sa.text("SELECT DISTINCT typeof(latency_ms) FROM app_requests")
            ).scalars()
            assert set(kinds) == {"real", "text", "null"}  # text among the numbers
        engine.dispose()
        return url, schema
    if backend == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", None
    elif backend == "mysql":
        url, schema = request.getfixturevalue("mysql_database"), None
    elif backend == "clickhouse":
        url, schema = request.getfixturevalue("chdb_url"), None
    elif backend == "snowflake":
        url, schema = request.getfixturevalue("snowflake_url"), None
    else:
        url, schema = request.getfixturevalue("pg_schema")
    engine = sa.create_engine(url)
    write_table(engine, _as_text(frame), schema=schema)
    engine.dispose()
    return url, schema


def _context(
    tmp_path: Path, url: str, schema: str | None, pushdown: str, sql_checks: str
) -> Context:
    monitors = MONITOR_YAML.format(
        table="app_requests",
        schema_line=f"      schema: {schema}\n" if schema else "",
        pushdown=pushdown,
        threshold=0.5,
    ).replace("    rules:\n", f"    validation: {{pushdown: {sql_checks}}}\n    rules:\n")
    (tmp_path / "monitors.yml").write_text(monitors)
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse=url,
            store=f"sqlite:///{tmp_path / 'results.sqlite'}",
            out_dir=tmp_path / "out",
        )
    )
    return Context.from_config(load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml"))


# metrics pushdown `on` where the warehouse has percentile_cont: it must not fail on text
BACKENDS = [
    pytest.param("duckdb", "on", "on", id="duckdb"),
    pytest.param("sqlite", "off", "on", id="sqlite-sql-checks"),
    pytest.param("sqlite", "off", "off", id="sqlite"),
    pytest.param("postgresql", "on", "on", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", "on", "on", id="mysql", marks=pytest.mark.mysql),
    pytest.param("clickhouse", "on", "off", id="clickhouse", marks=pytest.mark.clickhouse),
    pytest.param("snowflake", "on", "off", id="snowflake", marks=pytest.mark.snowflake),
]


@pytest.mark.parametrize(("backend", "pushdown", "sql_checks"), BACKENDS)
def test_text_in_a_numeric_column_is_quarantined_and_left_out_of_the_metrics(
    backend, pushdown, sql_checks, tmp_path, request
):
    url, schema = _load(backend, tmp_path, request)
    ctx = _context(tmp_path, url, schema, pushdown, sql_checks)
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, WINDOW)
    assert result.status == "succeeded", result.error
    frame = _records()
    clean, reasons = _truth(frame)
    assert result.rows == len(frame) == 400  # every record is a window row

    # quarantined, each with the fields that are not numbers, counted per reason
    stored = {q["record_id"]: q["reasons"] for q in ctx.store.quarantined("bot")}
    assert stored == reasons
    assert result.quarantined == len(reasons) == 12
    assert result.quarantine_reasons == {
        "not_a_number:latency_ms": 11,
        "not_a_number:retry_count": 2,
    }

    # one failed critical outcome per release and field, with up to five example ids
    releases = dict(
        zip(
            frame["request_id"],
            frame["model_version"] + "@" + frame["prompt_version"],
            strict=True,
        )
    )
    checks = {
        (v["release"], v["expectation"]): v
        for v in ctx.store.validations("bot")
        if v["expectation"].startswith("not_a_number:")
    }
    expected_checks = {}
    for record_id, why in sorted(reasons.items()):
        for reason in why.split(","):
            expected_checks.setdefault((releases[record_id], reason), []).append(record_id)
    assert set(checks) == set(expected_checks)
    for key, ids in expected_checks.items():
        row = checks[key]
        assert (row["status"], row["severity"], row["column_name"]) == (
            "failed",
            "critical",
            key[1].split(":")[1],
        )
        assert row["unexpected_count"] == len(ids)
        assert json.loads(row["examples"]) == ids[:5]
        assert row["element_count"] == sum(r == key[0] for r in releases.values())
    assert result.failed_expectations == len(expected_checks)  # the checks that flagged them

    # left out of every ops metric: request_count and latency n count the same records
    metrics = {
        (m["release"], m["cohort"], m["metric"]): (m["value"], m["n"])
        for m in ctx.store.metrics("bot")
        if not m["metric"].startswith(("validation", "quarantine", "window_rows"))
    }
    for release in sorted(set(releases.values())):
        count, _ = metrics[(release, "*", "request_count")]
        _, latency_n = metrics[(release, "*", "latency_p50_ms")]
        in_release = [r for r, rel in releases.items() if rel == release]
        held = [r for r in in_release if r in reasons]
        missing = clean[(clean["request_id"].isin(in_release)) & clean["latency_ms"].isna()]
        assert count == len(in_release) - len(held)
        assert latency_n + len(missing) == count  # blank and NULL latencies: missing
    windows_rows = ctx.store.metrics("bot", metric="window_rows")
    assert [m["value"] for m in windows_rows] == [400.0]

    # the same numbers on every warehouse: those of the clean records, computed in pandas
    truth = compute_ops_metrics(
        clean.rename(
            columns={"request_id": "record_id", "event_time": "ts", "session_id": "trace_id"}
        ),
        monitor.source.release,
        monitor.source.cohorts,
        metric_settings(monitor),
    )
    assert len(truth) == len(metrics)
    for m in truth:
        value, n = metrics[(m.release, m.cohort, m.metric)]
        assert n == m.n, (m.release, m.cohort, m.metric)
        assert value == pytest.approx(m.value, rel=1e-12, abs=1e-15), (m.release, m.metric)
    ctx.close()


@pytest.mark.parametrize(
    "backend",
    [
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("snowflake", marks=pytest.mark.snowflake),
    ],
)
def test_infinities_in_a_float_column_are_not_numbers_on_both_metric_paths(
    backend, tmp_path, request
):
    """A DOUBLE column (and PostgreSQL's `numeric`) can hold ±infinity and NaN (on Snowflake
    too, whose driver cannot bind a float NaN: `Dialect.special_float`): an infinity is
    not a number (quarantined, left out), a NaN reads as missing, the same in the warehouse's
    GROUP BY as in pandas."""
    url, schema = _load_typed(backend, tmp_path, request)
    stored = {}
    for pushdown in ("on", "off"):
        (tmp_path / pushdown).mkdir()
        ctx = _context(tmp_path / pushdown, url, schema, pushdown, "auto")
        result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
        assert result.status == "succeeded", result.error
        assert result.metric_path == ("pushdown" if pushdown == "on" else "pandas")
        assert result.rows == 400
        assert {q["record_id"]: q["reasons"] for q in ctx.store.quarantined("bot")} == {
            "r000000": "not_a_number:latency_ms",
            "r000001": "not_a_number:latency_ms",
            "r000002": "not_a_number:cost_usd",
        }
        stored[pushdown] = {
            (m["release"], m["cohort"], m["metric"]): (m["value"], m["n"])
            for m in ctx.store.metrics("bot")
        }
        ctx.close()
    assert stored["on"].keys() == stored["off"].keys()
    for key, (value, n) in stored["off"].items():
        assert stored["on"][key][1] == n, key
        assert stored["on"][key][0] == pytest.approx(value, rel=1e-9), key
    request_counts = [v for k, v in stored["on"].items() if k[1:] == ("*", "request_count")]
    assert sum(value for value, _ in request_counts) == 397
    latency_n = [v for k, v in stored["on"].items() if k[1:] == ("*", "latency_p99_ms")]
    assert sum(n for _, n in latency_n) == 396  # r000003's NaN is missing
    assert all(np.isfinite(value) for value, _ in stored["on"].values())


def _load_typed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[str, str | None]:
    frame = make_requests(hours=1, per_hour=400)
    if backend == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", None
        table = "app_requests"
    elif backend == "snowflake":
        url, schema = request.getfixturevalue("snowflake_url"), None
        table = "app_requests"
    else:
        url, schema = request.getfixturevalue("pg_schema")
        table = f'"{schema}".app_requests'
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    with engine.begin() as conn:
        if backend == "postgresql":  # `numeric` holds infinities too (PostgreSQL 14+)
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN cost_usd TYPE numeric"))
        for record_id, column, value in (
            ("r000000", "latency_ms", "Infinity"),
            ("r000001", "latency_ms", "-Infinity"),
            ("r000002", "cost_usd", "Infinity"),
            ("r000003", "latency_ms", "NaN"),
        ):
            conn.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = CAST(:v AS DOUBLE PRECISION) "
                    "WHERE request_id = :id"
                ),
                {"v": value, "id": record_id},
            )
    engine.dispose()
    return url, schema


def test_with_validation_off_the_records_are_still_left_out_and_the_log_says_so(
    tmp_path, request, caplog
):
    url, schema = _load("sqlite", tmp_path, request)
    ctx = _context(tmp_path, url, schema, "off", "off")
    monitor = ctx.config.monitors.monitors[0]
    monitor = monitor.model_copy(
        update={"validation": monitor.validation.model_copy(update={"enabled": False})}
    )
    result = run_window(ctx, monitor, WINDOW)
    assert result.status == "succeeded", result.error
    assert result.rows == 400 and result.quarantined == 0
    counts = ctx.store.metrics("bot", metric="request_count", cohort="*")
    assert sum(m["value"] for m in counts) == 400 - 12  # the same records left out
    assert "12 record(s) with a value that is not a number left out of the metrics" in caplog.text
    ctx.close()
