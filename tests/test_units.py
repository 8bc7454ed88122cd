"""A table that logs its durations in seconds (`source.units: {latency_ms: s}`) or its cost in
micro-dollars (`units: {cost_usd: micro_usd}`): a whole window run stores what the same records
logged in milliseconds and US dollars store: the ops metrics (pushed down), the validation
outcomes (GX in SQL, bounds written in ms and USD), drift, and the alerts of rules with
thresholds in ms and USD."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import MONITOR_YAML, T0, make_requests, write_tables
from tests.window_results import project, stored_by_window

from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))

# Bounds in milliseconds and USD: each fails on the raw seconds (~1.1 s a request) or the raw
# micro-dollars (100 to 2000 a request).
SECTIONS = """\
    validation:
      pushdown: on
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: between, column: latency_ms, min: 100, max: 100000, mostly: 0.95}
        - {kind: quantile_between, column: latency_ms, quantile: 0.5, min: 500, max: 5000}
        - {kind: mean_between, column: ttft_ms, min: 100}
        - {kind: between, column: cost_usd, min: 0, max: 0.01}
        - {kind: mean_between, column: cost_usd, min: 0.0005, max: 0.002}
"""
RULES = """\
      - name: slow
        metric: latency_p95_ms
        op: ">"
        threshold: 1500
        min_n: 20
        for: 1
        severity: P2
        owner: team
        split_by: ["*"]
      - name: spend
        metric: cost_per_request_usd
        op: ">"
        threshold: 0.0005
        min_n: 20
        for: 1
        severity: P2
        owner: team
        split_by: ["*"]
"""


def _in_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.rename(columns={"latency_ms": "duration_s", "ttft_ms": "first_token_s"})
    for column in ("duration_s", "first_token_s"):
        out[column] = [None if pd.isna(v) else Decimal(f"{v / 1000:.4f}") for v in out[column]]
    return out


def _in_nanoseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """A span table's durations: BIGINT nanoseconds (OpenTelemetry's `Duration`)."""
    out = frame.rename(columns={"latency_ms": "duration_ns", "ttft_ms": "first_token_ns"})
    for column in ("duration_ns", "first_token_ns"):
        out[column] = (out[column] * 1_000_000).round().astype("Int64")
    return out


def _in_micro_usd(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.rename(columns={"cost_usd": "cost_micro_usd"})
    out["cost_micro_usd"] = (frame["cost_usd"] * 1_000_000).round().astype(np.int64)
    return out


# How each table logs what the monitor reads: (table, column renames, units)
LOGGED = {
    "ms": ("app_requests", {}, ""),
    "s": (
        "requests_s",
        {"latency_ms": "duration_s", "ttft_ms": "first_token_s"},
        "{latency_ms: s, ttft_ms: s}",
    ),
    "ns": (
        "requests_ns",
        {"latency_ms": "duration_ns", "ttft_ms": "first_token_ns"},
        "{latency_ms: ns, ttft_ms: ns}",
    ),
    "micro_usd": ("requests_micro_usd", {"cost_usd": "cost_micro_usd"}, "{cost_usd: micro_usd}"),
}


def _monitors(logged: str) -> str:
    table, renamed, units = LOGGED[logged]
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="on", threshold=0.2)
    text = text.replace("    rules:\n", SECTIONS + "    rules:\n") + RULES
    for field, column in renamed.items():
        text = text.replace(f"{field}: {field}", f"{field}: {column}")
    if units:
        text = text.replace(
            "      ok_statuses: [ok]\n", f"      ok_statuses: [ok]\n      units: {units}\n"
        )
    return text


def _stored(tmp_path: Path, url: str, logged: str) -> dict[str, list[tuple]]:
    return stored_by_window(project(tmp_path, url, logged, _monitors(logged)), WINDOW)


BACKENDS = [
    "duckdb",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def _warehouse(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The warehouse's URL, holding `app_requests` and the copy that logs other units."""
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif backend == "postgresql":
        url = request.getfixturevalue("pg_database")
    else:
        url = request.getfixturevalue("mysql_database")
    frame = make_requests()
    write_tables(
        url,
        app_requests=frame,
        requests_s=_in_seconds(frame),
        requests_ns=_in_nanoseconds(frame),
        requests_micro_usd=_in_micro_usd(frame),
    )
    return url


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_window_of_seconds_stores_what_the_same_window_in_milliseconds_stores(
    backend, tmp_path, request
):
    url = _warehouse(backend, tmp_path, request)
    in_ms = _stored(tmp_path, url, "ms")
    in_s = _stored(tmp_path, url, "s")
    assert in_s == in_ms
    metrics = {(r[0], r[1], r[2]): r[3] for r in in_ms["metrics"]}
    assert metrics[("m1@p1", "*", "latency_p50_ms")] > 500  # milliseconds
    outcomes = {(r[0], r[1]): r[2] for r in in_ms["validations"]}
    assert outcomes[("m1@p1", "quantile_between_latency_ms")] == "passed"
    assert {r[4] for r in in_ms["validations"]} == {"sql"}  # GX ran on the warehouse
    alerts = {(r[0], r[2], r[3]) for r in in_ms["alerts"]}
    assert ("slow", "firing", 1500.0) in alerts


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_window_of_nanoseconds_stores_what_the_same_window_in_milliseconds_stores(
    backend, tmp_path, request
):
    """A span's `Duration` in nanoseconds (`units: {latency_ms: ns}`), read as milliseconds
    in the warehouse: read as milliseconds, a p95 of 2 s was "45 days"."""
    url = _warehouse(backend, tmp_path, request)
    assert _stored(tmp_path, url, "ns") == _stored(tmp_path, url, "ms")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_window_of_micro_dollars_stores_what_the_same_window_in_dollars_stores(
    backend, tmp_path, request
):
    """`cost_micro_usd BIGINT` (a user's span table): the cost metrics, the expectations with
    bounds in USD and the spend rule's alert are those of the records logged in USD; read as
    dollars they were 1e6 off (a total of "19,007,984.00 USD")."""
    url = _warehouse(backend, tmp_path, request)
    in_usd = _stored(tmp_path, url, "ms")
    in_micro = _stored(tmp_path, url, "micro_usd")
    assert in_micro == in_usd
    metrics = {(r[0], r[1], r[2]): r[3] for r in in_usd["metrics"]}
    assert 0.0005 < metrics[("m1@p1", "*", "cost_per_request_usd")] < 0.002  # dollars
    assert metrics[("m1@p1", "*", "cost_per_trace_usd")] > 0
    outcomes = {(r[0], r[1]): r[2] for r in in_usd["validations"]}
    assert outcomes[("m1@p1", "between_cost_usd")] == "passed"
    assert outcomes[("m1@p1", "mean_between_cost_usd")] == "passed"
    assert {r[4] for r in in_usd["validations"]} == {"sql"}  # GX ran on the warehouse
    assert ("spend", "firing", 0.0005) in {(r[0], r[2], r[3]) for r in in_usd["alerts"]}
