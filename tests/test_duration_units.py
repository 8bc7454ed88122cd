"""A table that logs its durations in seconds (`source.units: {latency_ms: s}`): a whole window
run stores what the same records logged in milliseconds store: the ops metrics (pushed down),
the validation outcomes (GX in SQL, bounds written in ms), drift, and the alerts of a rule with a
threshold in ms."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, PROFILES_YAML, T0, make_requests, write_table

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))

# Bounds in milliseconds: every one of them fails on the raw seconds (~1.1 s a request).
SECTIONS = """\
    validation:
      pushdown: on
      expectations:
        - {kind: not_null, column: record_id, severity: critical}
        - {kind: between, column: latency_ms, min: 100, max: 100000, mostly: 0.95}
        - {kind: quantile_between, column: latency_ms, quantile: 0.5, min: 500, max: 5000}
        - {kind: mean_between, column: ttft_ms, min: 100}
"""
LATENCY_RULE = """\
      - name: slow
        metric: latency_p95_ms
        op: ">"
        threshold: 1500
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


def _monitors(seconds: bool) -> str:
    text = MONITOR_YAML.format(
        table="requests_s" if seconds else "app_requests",
        schema_line="",
        pushdown="on",
        threshold=0.2,
    )
    text = text.replace("    rules:\n", SECTIONS + "    rules:\n") + LATENCY_RULE
    if seconds:
        text = text.replace("latency_ms: latency_ms", "latency_ms: duration_s")
        text = text.replace("ttft_ms: ttft_ms", "ttft_ms: first_token_s")
        text = text.replace(
            "      ok_statuses: [ok]\n",
            "      ok_statuses: [ok]\n      units: {latency_ms: s, ttft_ms: s}\n",
        )
    return text


def _stored(tmp_path: Path, url: str, seconds: bool) -> dict[str, list[tuple]]:
    directory = tmp_path / ("seconds" if seconds else "ms")
    directory.mkdir()
    (directory / "monitors.yml").write_text(_monitors(seconds))
    store = f"sqlite:///{directory / 'results.sqlite'}"
    (directory / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=store, out_dir=directory / "out")
    )
    ctx = Context.from_config(load_config(directory / "profiles.yml", directory / "monitors.yml"))
    try:
        result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW)
        assert result.status == "succeeded", result.error
        queries = {
            "metrics": "SELECT release, cohort, metric, round(value, 6), n FROM metrics",
            "validations": "SELECT release, expectation, status, unexpected_count, path "
            "FROM validations",
            "alerts": "SELECT rule, cohort, state, threshold, round(value, 6) FROM alerts",
        }
        with ctx.store.engine.connect() as conn:
            return {
                k: sorted(map(tuple, conn.execute(sa.text(q)).all())) for k, q in queries.items()
            }
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "backend",
    [
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_a_window_of_seconds_stores_what_the_same_window_in_milliseconds_stores(
    backend, tmp_path, request
):
    if backend == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", None
    elif backend == "postgresql":
        url, schema = request.getfixturevalue("pg_database"), None
    else:
        url, schema = request.getfixturevalue("mysql_database"), None
    frame = make_requests()
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    write_table(engine, _in_seconds(frame), table="requests_s", schema=schema)
    engine.dispose()
    in_ms = _stored(tmp_path, url, seconds=False)
    in_s = _stored(tmp_path, url, seconds=True)
    assert in_s == in_ms
    metrics = {(r[0], r[1], r[2]): r[3] for r in in_ms["metrics"]}
    assert metrics[("m1@p1", "*", "latency_p50_ms")] > 500  # milliseconds
    outcomes = {(r[0], r[1]): r[2] for r in in_ms["validations"]}
    assert outcomes[("m1@p1", "quantile_between_latency_ms")] == "passed"
    assert {r[4] for r in in_ms["validations"]} == {"sql"}  # GX ran on the warehouse
    assert {(r[0], r[2], r[3]) for r in in_ms["alerts"]} == {("slow", "firing", 1500.0)}
