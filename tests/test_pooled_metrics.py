"""Pooled metrics equal a recomputation from the raw rows: for random lookbacks ending at random
windows, on DuckDB (pushdown), SQLite and PostgreSQL (pandas), rates, means and counts are exact
and quantiles are within the sketch's stated error (they are rank quantiles: compared with the
`lower` rank of the pooled raw values)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import load_config
from lookout.core.sketch import ALPHA
from lookout.core.summary import merge_all
from lookout.model.aggregates import as_labels
from lookout.model.families.registry import FAMILIES
from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)
HOURS = 8


def _frame() -> pd.DataFrame:
    """Eight hours with very different volumes (10 to 300 rows), so lookbacks mix them."""
    parts = []
    for hour, rows in enumerate((40, 300, 10, 120, 25, 200, 60, 15)):
        part = make_requests(hours=1, per_hour=rows, seed=100 + hour)
        for column in ("event_time", "ingested_at"):
            part[column] = part[column] + pd.Timedelta(hours=hour)
        part["request_id"] = [f"h{hour}r{i:04d}" for i in range(rows)]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


FRAME = _frame()


def _run(tmp_path, warehouse: str, schema: str | None = None, pushdown: str = "auto") -> Context:
    engine = sa.create_engine(warehouse)
    write_table(engine, FRAME, schema=schema)
    engine.dispose()
    cfg = tmp_path / "cfg"
    write_config(
        cfg,
        warehouse=warehouse,
        store=f"sqlite:///{tmp_path / 'results.sqlite'}",
        schema=schema,
        pushdown=pushdown,
    )
    monitors = (cfg / "monitors.yml").read_text()
    (cfg / "monitors.yml").write_text(
        monitors.replace("    rules:\n", "    validation: {enabled: false}\n    rules:\n")
    )
    ctx = Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))
    monitor = ctx.config.monitors.monitors[0]
    for i in range(HOURS):
        result = run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H))
        assert result.status == "succeeded", result.error
    return ctx


@pytest.fixture(
    scope="module",
    params=["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(request.param)
    if request.param == "duckdb":
        ctx = _run(tmp_path, f"duckdb:///{tmp_path / 'wh.duckdb'}", pushdown="on")
        yield ctx
        ctx.close()
        return
    if request.param == "sqlite":
        ctx = _run(tmp_path, f"sqlite:///{tmp_path / 'wh.sqlite'}")
        yield ctx
        ctx.close()
        return
    pg_url = request.getfixturevalue("pg_url")
    name = f"lk_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(name))
    try:
        ctx = _run(tmp_path, pg_url, schema=name)
        yield ctx
        ctx.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(name, cascade=True))
        engine.dispose()


def _raw(end: int, lookback: int, release: str, cohort: str) -> pd.DataFrame:
    """The raw records of the pooled period and group."""
    start = T0 + (end - lookback + 1) * H
    stop = T0 + (end + 1) * H
    ts = pd.to_datetime(FRAME["event_time"]).dt.tz_localize("UTC")
    rows = FRAME[(ts >= start) & (ts < stop)]
    labels = rows["model_version"] + "@" + rows["prompt_version"]
    rows = rows[labels == release]
    if cohort != "*":
        dimension, _, wanted = cohort.partition("=")
        rows = rows[as_labels(rows[dimension]) == wanted]
    return rows


def _expected(metric: str, rows: pd.DataFrame) -> tuple[float, int] | None:
    if metric == "error_rate":
        n = int(rows["status"].notna().sum())
        return ((rows["status"] != "ok").sum() / n, n) if n else None
    if metric == "negative_feedback_rate":
        known = rows["feedback"].notna()
        n = int(known.sum())
        return ((rows["feedback"] == "thumbs_down").sum() / n, n) if n else None
    if metric == "retry_rate":
        return ((rows["retry_count"] > 0).mean(), len(rows)) if len(rows) else None
    if metric == "completion_tokens_mean":
        return (rows["completion_tokens"].mean(), len(rows)) if len(rows) else None
    if metric == "cost_per_request_usd":
        return (rows["cost_usd"].mean(), len(rows)) if len(rows) else None
    raise AssertionError(metric)


RATES_AND_MEANS = [
    "error_rate",
    "negative_feedback_rate",
    "retry_rate",
    "completion_tokens_mean",
    "cost_per_request_usd",
]
QUANTILES = [("latency_p50_ms", "latency_ms", 0.5), ("latency_p95_ms", "latency_ms", 0.95)]
QUANTILES += [("latency_p99_ms", "latency_ms", 0.99), ("ttft_p95_ms", "ttft_ms", 0.95)]
GROUPS = [(r, c) for r in ("m1@p1", "m2@p2") for c in ("*", "region=eu", "route=search")]


def _pooled(ctx: Context, end: int, lookback: int, group: tuple[str, str]):
    stored = ctx.store.summaries(
        "bot", T0 + (end - lookback + 1) * H, T0 + (end + 1) * H, stages=["ops"]
    )
    return merge_all(s for _, s in stored.get(group, []))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    end=st.integers(0, HOURS - 1),
    lookback=st.integers(1, HOURS),
    group=st.sampled_from(GROUPS),
    metric=st.sampled_from(RATES_AND_MEANS),
)
def test_pooled_rates_and_means_equal_the_raw_recomputation(backend, end, lookback, group, metric):
    lookback = min(lookback, end + 1)
    merged = _pooled(backend, end, lookback, group)
    expected = _expected(metric, _raw(end, lookback, *group))
    estimate = None if merged is None else FAMILIES.pooled(metric, merged)
    if expected is None:
        assert estimate is None
        return
    assert estimate is not None
    assert estimate.n == expected[1]
    assert estimate.value == pytest.approx(expected[0], rel=1e-9, abs=1e-12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    end=st.integers(0, HOURS - 1),
    lookback=st.integers(1, HOURS),
    group=st.sampled_from(GROUPS),
    which=st.sampled_from(QUANTILES),
)
def test_pooled_quantiles_are_within_the_sketch_error(backend, end, lookback, group, which):
    metric, column, q = which
    lookback = min(lookback, end + 1)
    merged = _pooled(backend, end, lookback, group)
    values = pd.to_numeric(_raw(end, lookback, *group)[column], errors="coerce").dropna()
    estimate = None if merged is None else FAMILIES.pooled(metric, merged)
    if values.empty:
        assert estimate is None
        return
    assert estimate is not None and estimate.n == len(values)
    exact = float(np.quantile(values.to_numpy(), q))  # interpolated, as percentile_cont
    # a bucket holds values within ALPHA of its representative, and the value between two ranks
    # is interpolated from theirs; the SQL and numpy logarithms may put a value on the other
    # side of a bucket boundary
    assert estimate.value == pytest.approx(exact, rel=2 * ALPHA)
