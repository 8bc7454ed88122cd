"""Drift histograms on real DuckDB, SQLite and PostgreSQL: both paths agree, edges are numpy's
quantiles, and the text features label hand-made rows the same way on every dialect."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, write_table

from lookout.checks.drift.columns import DriftColumn, drift_columns, sql_feature
from lookout.checks.drift.stats import NumericHistogram, column_drift
from lookout.config.models import Monitor
from lookout.sources.histograms import LEVELS, quantile_edges, window_histograms
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

WINDOW = Window(T0, T0 + timedelta(hours=1))
HAND = ("m9", "p9")  # the release of the hand-made text rows

# output text -> (empty, refusal, json, script); its length is Python's len (code points)
TEXTS: list[tuple[str | None, tuple[str, str, str, str]]] = [
    ("", ("empty", "empty", "empty", "empty")),
    ("   ", ("empty", "empty", "empty", "empty")),
    (None, ("empty", "empty", "empty", "empty")),
    ("I'm sorry, but I can't help with that.", ("non-empty", "refusal", "text", "ascii")),
    ("As an AI, I cannot assist.", ("non-empty", "refusal", "text", "ascii")),
    ("I CANNOT HELP with this", ("non-empty", "refusal", "text", "ascii")),
    ("\tI'm unable to do that", ("non-empty", "refusal", "text", "ascii")),
    ('{"answer": 42}', ("non-empty", "answer", "json", "ascii")),
    ("  [1, 2, 3]", ("non-empty", "answer", "json", "ascii")),
    ("Привет, мир", ("non-empty", "answer", "text", "non-ascii")),
    ("naïve café ☕", ("non-empty", "answer", "text", "non-ascii")),
    ("答案是 42", ("non-empty", "answer", "text", "non-ascii")),
    ("thumbs 👍🏽 e\u0301", ("non-empty", "answer", "text", "non-ascii")),
    ("<script>alert('x')</script>", ("non-empty", "answer", "text", "ascii")),
    ("100% of_it /escaped\\", ("non-empty", "answer", "text", "ascii")),
    ("The answer is 42.", ("non-empty", "answer", "text", "ascii")),
]
FEATURES = ("empty", "refusal", "json", "script")


def make_frame(n: int = 240, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(T0.replace(tzinfo=None)) + pd.to_timedelta(
        np.sort(rng.uniform(0, 3600, n)), unit="s"
    )
    release2 = rng.random(n) < 0.5
    route = rng.choice(np.array(["faq", "search", None], dtype=object), n, p=[0.5, 0.35, 0.15])
    latency = rng.lognormal(6, 0.6, n).round(1)
    latency[route == None] = np.nan  # noqa: E711  a cohort with no latency at all
    latency[rng.random(n) < 0.05] = np.nan
    random_rows = pd.DataFrame(
        {
            "request_id": [f"r{i:04d}" for i in range(n)],
            "event_time": ts.astype("datetime64[us]"),
            "model_version": np.where(release2, "m2", "m1"),
            "prompt_version": np.where(release2, "p2", "p1"),
            "route": route,
            "region": rng.choice(["us", "eu"], n),
            "latency_ms": latency,
            "prompt_tokens": rng.integers(50, 60, n),  # ties on the edges
            "status": np.where(rng.random(n) < 0.1, "error", "ok"),
            "is_fallback": rng.choice(np.array([True, False, None], dtype=object), n),
            "prompt": rng.choice(["what is my quota?", "¿cuál es mi cuota?", ""], n),
            "output": rng.choice(
                ["Your quota is 10 GB.", "I can't help with that.", '{"quota": 10}', "残り10GB"],
                n,
            ),
        }
    )
    k = len(TEXTS)
    hand = pd.DataFrame(
        {
            "request_id": [f"h{i:04d}" for i in range(k)],
            "event_time": (ts[0] + pd.to_timedelta(np.arange(k), unit="s")).astype(
                "datetime64[us]"
            ),
            "model_version": [HAND[0]] * k,
            "prompt_version": [HAND[1]] * k,
            "route": ["faq"] * k,
            "region": ["us"] * k,
            "latency_ms": np.arange(k, dtype=float),
            "prompt_tokens": np.arange(k),
            "status": ["ok"] * k,
            "is_fallback": np.array([False] * k, dtype=object),
            "prompt": [text for text, _ in TEXTS],
            "output": [text for text, _ in TEXTS],
        }
    )
    # One row just outside the window on each side: never counted.
    outside = random_rows.head(2).copy()
    outside["request_id"] = ["o1", "o2"]
    outside["event_time"] = [
        pd.Timestamp((WINDOW.start - timedelta(seconds=1)).replace(tzinfo=None)),
        pd.Timestamp(WINDOW.end.replace(tzinfo=None)),
    ]
    outside["latency_ms"] = [1e9, -1e9]
    frame = pd.concat([random_rows, hand, outside], ignore_index=True)
    frame["event_time"] = frame["event_time"].astype("datetime64[us]")
    return frame


def make_monitor(schema: str | None = None) -> Monitor:
    return Monitor.model_validate(
        {
            "name": "bot",
            "source": {
                "table": "requests",
                "schema": schema,
                "columns": {
                    "record_id": "request_id",
                    "ts": "event_time",
                    "model_version": "model_version",
                    "prompt_version": "prompt_version",
                    "route": "route",
                    "input": "prompt",
                    "output": "output",
                    "latency_ms": "latency_ms",
                    "prompt_tokens": "prompt_tokens",
                    "status": "status",
                    "is_fallback": "is_fallback",
                },
                "cohorts": ["route", "region"],
            },
            "drift": {"enabled": True},
        }
    )


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loaded(request: pytest.FixtureRequest, tmp_path: Path):
    schema = None
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    else:
        url, schema = request.getfixturevalue("pg_schema")
    frame = make_frame()
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests", schema=schema)
    engine.dispose()
    warehouse = Warehouse(url)
    assert warehouse.dialect == request.param
    yield warehouse, make_monitor(schema), frame
    warehouse.dispose()


def in_window(frame: pd.DataFrame) -> pd.DataFrame:
    start = pd.Timestamp(WINDOW.start.replace(tzinfo=None))
    end = pd.Timestamp(WINDOW.end.replace(tzinfo=None))
    return frame[(frame.event_time >= start) & (frame.event_time < end)]


def expected_edges(values: pd.Series) -> tuple[float, ...]:
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    return tuple(sorted({float(v) for v in np.quantile(numbers, LEVELS)}))  # linear


def assert_same_histograms(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for key, columns in expected.items():
        assert sorted(got[key]) == sorted(columns), key
        for name, hist in columns.items():
            other = got[key][name]
            if isinstance(hist, NumericHistogram):
                assert isinstance(other, NumericHistogram), (key, name)
                assert other.edges == hist.edges, (key, name)
                assert other.counts == hist.counts, (key, name)  # exact
                assert other.sums == pytest.approx(hist.sums, rel=1e-9), (key, name)
                assert other.sumsq == pytest.approx(hist.sumsq, rel=1e-9), (key, name)
                assert (other.minimum, other.maximum) == pytest.approx(
                    (hist.minimum, hist.maximum), rel=1e-12
                ), (key, name)
            else:
                assert other == hist, (key, name)


def test_pushdown_and_local_histograms_are_identical(loaded):
    warehouse, monitor, frame = loaded
    columns = drift_columns(monitor)
    assert {c.name for c in columns} >= {
        "latency_ms",
        "prompt_tokens",
        "route",
        "region",
        "is_fallback",
        "input_length",
        "output_length",
        "output_refusal",
        "output_script",
    }
    edges = quantile_edges(warehouse, monitor, columns, WINDOW)
    dimensions = [None, "route", "region"]
    local = window_histograms(warehouse, monitor, columns, WINDOW, edges, dimensions=dimensions)
    pushed = window_histograms(
        warehouse, monitor, columns, WINDOW, edges, dimensions=dimensions, local_max_rows=0
    )
    assert_same_histograms(pushed, local)

    # ...and both are right, not merely equal: checked against the frame itself.
    rows = in_window(frame)
    for release in ("m1@p1", "m2@p2", "m9@p9"):
        model, prompt = release.split("@")
        mine = rows[(rows.model_version == model) & (rows.prompt_version == prompt)]
        whole = local[(release, "*")]
        assert whole["prompt_tokens"].n == len(mine)
        assert whole["latency_ms"].n == mine.latency_ms.notna().sum()
        assert whole["latency_ms"].maximum < 1e9  # the rows outside the window are not read
        assert sum(whole["status"].values()) == len(mine)
        assert whole["input_length"].n == len(mine)  # NULL text has length 0
        assert sum(whole["input_length"].sums) == pytest.approx(
            sum(len(t or "") for t in mine.prompt)
        )
        assert "region" in whole and "route" in whole
        for value in ("faq", "search", "(null)"):
            cohort = local.get((release, f"route={value}"), {})
            assert "route" not in cohort  # a cohort's own column is not compared within it
        if release != "m9@p9":
            null_route = local[(release, "route=(null)")]
            assert "latency_ms" not in null_route  # no value, no histogram (as in SQL)
            assert null_route["prompt_tokens"].n == mine.route.isna().sum() > 0
    # booleans and NULLs keep distinct, readable labels
    flags = Counter()
    for release in ("m1@p1", "m2@p2"):
        flags.update(local[(release, "*")]["is_fallback"])
    assert set(flags) == {"true", "false", "(null)"}  # SQLite too (a BOOLEAN column)
    assert flags["(null)"] == rows[rows.request_id.str.startswith("r")].is_fallback.isna().sum()


def test_one_release_only(loaded):
    warehouse, monitor, frame = loaded
    columns = [c for c in drift_columns(monitor) if c.name in {"latency_ms", "route"}]
    edges = quantile_edges(warehouse, monitor, columns, WINDOW, ("m1", "p1"))
    rows = in_window(frame)
    m1 = rows[rows.model_version == "m1"]
    assert edges["latency_ms"] == pytest.approx(expected_edges(m1.latency_ms), rel=1e-12)
    for limit in (0, 10**6):
        got = window_histograms(
            warehouse, monitor, columns, WINDOW, edges, release=("m1", "p1"), local_max_rows=limit
        )
        assert list(got) == [("m1@p1", "*")]
        assert got[("m1@p1", "*")]["latency_ms"].n == m1.latency_ms.notna().sum()


def test_quantile_edges_equal_numpy_linear_quantiles(loaded):
    warehouse, monitor, frame = loaded
    columns = [
        c
        for c in drift_columns(monitor)
        if c.name in {"latency_ms", "prompt_tokens", "output_length", "route"}
    ]
    edges = quantile_edges(warehouse, monitor, columns, WINDOW)
    assert set(edges) == {"latency_ms", "prompt_tokens", "output_length"}  # numeric only
    rows = in_window(frame)
    lengths = rows.output.map(lambda t: float(len(t or "")))
    for name, values in (
        ("latency_ms", rows.latency_ms),
        ("prompt_tokens", rows.prompt_tokens),
        ("output_length", lengths),
    ):
        expected = expected_edges(values)
        assert len(edges[name]) == len(expected), name
        assert edges[name] == pytest.approx(expected, rel=1e-12), name
    assert len(edges["latency_ms"]) == len(LEVELS)  # continuous: every level is its own edge
    for values in edges.values():
        assert list(values) == sorted(set(values))  # duplicate quantiles merged
    assert len(edges["prompt_tokens"]) < len(LEVELS)  # integers with ties


def test_text_features_label_hand_made_rows(loaded):
    warehouse, monitor, _ = loaded
    source = monitor.source
    table = warehouse._table(source)
    output = warehouse._column(table, source, "output")
    features = [DriftColumn(f"output_{f}", "categorical", "output", f) for f in FEATURES]
    length = DriftColumn("output_length", "numeric", "output", "length")
    dialect = warehouse.dialect
    query = (
        sa.select(
            table.c.request_id,
            sql_feature(length, output, dialect),
            *(sql_feature(f, output, dialect) for f in features),
        )
        .where(table.c.request_id.startswith("h"))
        .order_by(table.c.request_id)
    )
    with warehouse.engine.connect() as conn:
        got = [tuple(row) for row in conn.execute(query)]
    assert len(got) == len(TEXTS)
    for (text, labels), row in zip(TEXTS, got, strict=True):
        assert float(row[1]) == len(text or ""), (dialect, text)
        assert tuple(row[2:]) == labels, (dialect, text)

    # The same labels through the histograms of the hand-made release, on both paths.
    edges = quantile_edges(warehouse, monitor, [length], WINDOW, HAND)
    for limit in (0, 10**6):
        hists = window_histograms(
            warehouse,
            monitor,
            [*features, length],
            WINDOW,
            edges,
            release=HAND,
            local_max_rows=limit,
        )
        counts = hists[("m9@p9", "*")]
        for i, feature in enumerate(features):
            assert counts[feature.name] == dict(Counter(labels[i] for _, labels in TEXTS))
        assert counts["output_length"].n == len(TEXTS)
        assert sum(counts["output_length"].sums) == sum(len(t or "") for t, _ in TEXTS)


def test_a_numeric_column_without_edges_is_one_bucket_on_both_paths(loaded):
    """A reference with no non-NULL value of a column (a field the previous release did not log)
    gives it no edges; the current window still gets a one-bucket histogram on either path."""
    warehouse, monitor, frame = loaded
    columns = [c for c in drift_columns(monitor) if c.name in {"latency_ms", "route"}]
    period = Window(WINDOW.start - timedelta(hours=2), WINDOW.start - timedelta(hours=1))
    edges = quantile_edges(warehouse, monitor, columns, period)  # an empty period
    assert edges == {"latency_ms": ()}
    local = window_histograms(warehouse, monitor, columns, WINDOW, edges)
    pushed = window_histograms(warehouse, monitor, columns, WINDOW, edges, local_max_rows=0)
    assert_same_histograms(pushed, local)
    rows = in_window(frame)
    m1 = rows[rows.model_version == "m1"]
    assert local[("m1@p1", "*")]["latency_ms"].counts == (m1.latency_ms.notna().sum(),)


@pytest.mark.postgres
def test_postgres_samples_pages_above_max_rows(request, tmp_path):
    """A period above `max_rows` is read through TABLESAMPLE SYSTEM: fewer rows, same shape."""
    url, schema = request.getfixturevalue("pg_schema")
    frame = make_frame(n=40_000, seed=11)
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests", schema=schema)
    engine.dispose()
    warehouse = Warehouse(url)
    monitor = make_monitor(schema)
    columns = [c for c in drift_columns(monitor) if c.name in {"latency_ms", "route"}]
    statements: list[str] = []
    sa.event.listen(warehouse.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    edges = quantile_edges(warehouse, monitor, columns, WINDOW, max_rows=4000)
    exact = window_histograms(warehouse, monitor, columns, WINDOW, edges, local_max_rows=0)
    sampled = window_histograms(
        warehouse, monitor, columns, WINDOW, edges, local_max_rows=0, max_rows=4000
    )
    assert any("TABLESAMPLE system" in s for s in statements)
    rows = in_window(frame)
    for release in ("m1@p1", "m2@p2"):
        full, part = exact[(release, "*")]["latency_ms"], sampled[(release, "*")]["latency_ms"]
        assert sum(full.counts) == rows[rows.model_version == release[:2]].latency_ms.notna().sum()
        assert 0.02 * sum(full.counts) < sum(part.counts) < 0.5 * sum(full.counts)
        verdict = column_drift("latency_ms", "numeric", full, part, min_n=100)
        assert verdict.drifted is False, verdict  # a sample of the same rows does not drift
    warehouse.dispose()
