"""Drift summaries on real DuckDB, SQLite and PostgreSQL: the pushed-down and local paths give
the same sketches and counts, both right against the rows, the text features label hand-made
rows the same way on every dialect, and a logged number that is not a number is missing (never
0, never a failed window)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, T0, write_table

from lookout.checks.drift.verdict import Criteria, judge
from lookout.config.models import Monitor
from lookout.core.sketch import ALPHA
from lookout.sources.drift_columns import DriftColumn, drift_columns, sql_feature
from lookout.sources.drift_summaries import cross_summaries, feature_key, window_summaries
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


BACKENDS = ALL_ENGINES


@pytest.fixture(params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path: Path):
    schema = None
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    elif request.param == "clickhouse":
        url = request.getfixturevalue("chdb_url")
    elif request.param == "snowflake":
        url = request.getfixturevalue("snowflake_url")
    else:
        url, schema = request.getfixturevalue("pg_schema")
    frame = make_frame()
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests", schema=schema)
    engine.dispose()
    warehouse = Warehouse(url)
    assert warehouse.dialect == {"clickhouse": "clickhousedb"}.get(request.param, request.param)
    yield warehouse, make_monitor(schema), frame
    warehouse.dispose()


def in_window(frame: pd.DataFrame) -> pd.DataFrame:
    start = pd.Timestamp(WINDOW.start.replace(tzinfo=None))
    end = pd.Timestamp(WINDOW.end.replace(tzinfo=None))
    return frame[(frame.event_time >= start) & (frame.event_time < end)]


def sketch(summaries: dict, group: tuple[str, str], name: str):
    return summaries[group].sketches[feature_key(name)]


def counts(summaries: dict, group: tuple[str, str], name: str) -> dict[str, float]:
    return summaries[group].categories[feature_key(name)]


def assert_same_summaries(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for key, summary in expected.items():
        other = got[key]
        assert sorted(other.sketches) == sorted(summary.sketches), key
        assert other.categories == summary.categories, key
        for name, mine in summary.sketches.items():
            theirs = other.sketches[name]
            assert theirs.count == mine.count, (key, name)
            # the warehouse computes the bucket key as numpy does; a value on a bucket
            # boundary may land one bucket over (within the sketch's accuracy either way)
            for q in (0.01, 0.25, 0.5, 0.75, 0.99):
                assert theirs.quantile(q) == pytest.approx(mine.quantile(q), rel=2.5 * ALPHA)


def test_pushdown_and_local_summaries_are_identical(loaded):
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
    dimensions = [None, "route", "region"]
    local = window_summaries(warehouse, monitor, columns, WINDOW, dimensions=dimensions)
    pushed = window_summaries(
        warehouse, monitor, columns, WINDOW, dimensions=dimensions, local_max_rows=0
    )
    assert_same_summaries(pushed, local)

    # ...and both are right, not merely equal: checked against the frame itself.
    rows = in_window(frame)
    for release in ("m1@p1", "m2@p2", "m9@p9"):
        model, prompt = release.split("@")
        mine = rows[(rows.model_version == model) & (rows.prompt_version == prompt)]
        whole = (release, "*")
        assert sketch(local, whole, "prompt_tokens").count == len(mine)
        assert sketch(local, whole, "latency_ms").count == mine.latency_ms.notna().sum()
        assert sketch(local, whole, "latency_ms").quantile(1.0) < 1e9  # not the outside rows
        assert sum(counts(local, whole, "status").values()) == len(mine)
        assert sketch(local, whole, "input_length").count == len(mine)  # NULL text: length 0
        lengths = mine.prompt.map(lambda t: len(t or ""))
        assert sketch(local, whole, "input_length").quantile(0.5) == pytest.approx(
            np.quantile(lengths, 0.5), rel=2 * ALPHA
        )
        assert feature_key("region") in local[whole].categories
        for value in ("faq", "search", "(null)"):
            cohort = local.get((release, f"route={value}"))
            assert cohort is None or feature_key("route") not in cohort.categories
        if release != "m9@p9":
            null_route = local[(release, "route=(null)")]
            assert feature_key("latency_ms") not in null_route.sketches  # no value, no sketch
            assert sketch(local, (release, "route=(null)"), "prompt_tokens").count == (
                mine.route.isna().sum()
            )
    # booleans and NULLs keep distinct, readable labels
    flags = Counter()
    for release in ("m1@p1", "m2@p2"):
        flags.update(counts(local, (release, "*"), "is_fallback"))
    assert set(flags) == {"true", "false", "(null)"}  # SQLite too (a BOOLEAN column)
    assert flags["(null)"] == rows[rows.request_id.str.startswith("r")].is_fallback.isna().sum()


def test_one_release_only(loaded):
    warehouse, monitor, frame = loaded
    columns = [c for c in drift_columns(monitor) if c.name in {"latency_ms", "route"}]
    rows = in_window(frame)
    m1 = rows[rows.model_version == "m1"]
    for limit in (0, 10**6):
        got = window_summaries(
            warehouse, monitor, columns, WINDOW, release=("m1", "p1"), local_max_rows=limit
        )
        assert list(got) == [("m1@p1", "*")]
        assert sketch(got, ("m1@p1", "*"), "latency_ms").count == m1.latency_ms.notna().sum()
        assert sum(counts(got, ("m1@p1", "*"), "route").values()) == len(m1)


def test_text_features_label_hand_made_rows(loaded):
    warehouse, monitor, _ = loaded
    source = monitor.source
    table = warehouse.table(source)
    output = warehouse.column(table, source, "output")
    features = [DriftColumn(f"output_{f}", "categorical", "output", f) for f in FEATURES]
    length = DriftColumn("output_length", "numeric", "output", "length")
    dialect = warehouse.capabilities
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

    # The same labels through the summaries of the hand-made release, on both paths.
    for limit in (0, 10**6):
        found = window_summaries(
            warehouse, monitor, [*features, length], WINDOW, release=HAND, local_max_rows=limit
        )
        group = ("m9@p9", "*")
        for i, feature in enumerate(features):
            assert counts(found, group, feature.name) == dict(
                Counter(labels[i] for _, labels in TEXTS)
            )
        lengths = sorted(len(t or "") for t, _ in TEXTS)
        assert sketch(found, group, "output_length").count == len(TEXTS)
        assert sketch(found, group, "output_length").quantile(1.0) == pytest.approx(
            lengths[-1], rel=ALPHA
        )


def test_a_column_with_no_value_has_no_sketch_on_both_paths(loaded):
    """A period with no non-NULL value of a numeric column gives no sketch (not an empty one):
    the verdict then says "not enough data" for that column."""
    warehouse, monitor, _ = loaded
    columns = [c for c in drift_columns(monitor) if c.name in {"latency_ms", "route"}]
    empty = Window(WINDOW.start - timedelta(hours=2), WINDOW.start - timedelta(hours=1))
    assert window_summaries(warehouse, monitor, columns, empty) == {}
    for limit in (0, 10**6):
        got = window_summaries(
            warehouse, monitor, columns, WINDOW, dimensions=[None, "route"], local_max_rows=limit
        )
        # route=(null) rows have no latency and nothing else is compared inside a route
        assert ("m1@p1", "route=(null)") not in got
        assert feature_key("latency_ms") in got[("m1@p1", "route=faq")].sketches
        assert feature_key("latency_ms") in got[("m1@p1", "*")].sketches


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_logged_number_that_is_not_a_number_is_missing_never_zero(request, tmp_path, backend):
    """Latencies logged as text (`fast`, `12ms`, `350`): on DuckDB and PostgreSQL the column is
    TEXT (SQL would fail to cast it), on SQLite a REAL column holding text (a cast reads `fast`
    as 0). Either way the summary counts the numbers only, on both paths, and does not fail."""
    schema = None
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    elif backend == "mysql":
        url = request.getfixturevalue("mysql_database")
    elif backend == "clickhouse":
        url = request.getfixturevalue("chdb_url")
    elif backend == "snowflake":
        url = request.getfixturevalue("snowflake_url")
    else:
        url, schema = request.getfixturevalue("pg_schema")
    frame = make_frame(n=300, seed=3)
    frame = frame[frame.request_id.str.startswith("r")].copy()
    latency = frame.latency_ms.astype(object)
    latency.iloc[:10] = "fast"
    latency.iloc[10:20] = "12ms"
    latency.iloc[20:30] = "  350 "
    frame["latency_ms"] = latency.map(lambda v: v if isinstance(v, str) or v != v else repr(v))
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests", schema=schema)
    if backend == "sqlite":  # a numeric column holding text, as SQLite allows
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE requests RENAME COLUMN latency_ms TO lat_text")
            conn.exec_driver_sql("ALTER TABLE requests ADD COLUMN latency_ms REAL")
            conn.exec_driver_sql("UPDATE requests SET latency_ms = lat_text")
    engine.dispose()
    warehouse = Warehouse(url)
    monitor = make_monitor(schema)
    if backend != "sqlite":
        assert warehouse.loose_numeric_fields(monitor.source) == {"latency_ms"}
    columns = [c for c in drift_columns(monitor) if c.name == "latency_ms"]
    numbers = pd.to_numeric(frame.latency_ms.str.strip(), errors="coerce")
    rows = in_window(frame.assign(latency_ms=numbers))
    for limit in (0, 10**6):
        got = window_summaries(warehouse, monitor, columns, WINDOW, local_max_rows=limit)
        for release in ("m1@p1", "m2@p2"):
            mine = rows[rows.model_version == release[:2]]
            found = sketch(got, (release, "*"), "latency_ms")
            assert found.count == mine.latency_ms.notna().sum()  # `fast`, `12ms`: missing
            assert found.quantile(0.0) >= 0.95 * mine.latency_ms.min() > 0  # no 0 from `fast`
    warehouse.dispose()


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
    exact = window_summaries(warehouse, monitor, columns, WINDOW, local_max_rows=0)
    sampled = window_summaries(warehouse, monitor, columns, WINDOW, local_max_rows=0, max_rows=4000)
    assert any("TABLESAMPLE system" in s for s in statements)
    rows = in_window(frame)
    column = columns[0] if columns[0].name == "latency_ms" else columns[1]
    for release in ("m1@p1", "m2@p2"):
        full, part = (
            sketch(exact, (release, "*"), "latency_ms"),
            sketch(sampled, (release, "*"), "latency_ms"),
        )
        assert full.count == rows[rows.model_version == release[:2]].latency_ms.notna().sum()
        assert 0.02 * full.count < part.count < 0.5 * full.count
        verdict, _ = judge(column, full, part, Criteria())
        assert verdict.drifted is False, verdict  # a sample of the same rows does not drift
    warehouse.dispose()


@pytest.mark.snowflake
def test_snowflake_samples_blocks_above_max_rows(request, tmp_path):
    """On Snowflake a period above `max_rows` is read through `TABLESAMPLE SYSTEM` too (block
    sampling; the emulator samples DuckDB's 2,048-row vectors): fewer rows, the same verdict."""
    url = request.getfixturevalue("snowflake_url")
    frame = make_frame(n=40_000, seed=11)
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    engine.dispose()
    warehouse = Warehouse(url)
    monitor = make_monitor(None)
    columns = [c for c in drift_columns(monitor) if c.name == "latency_ms"]
    statements: list[str] = []
    sa.event.listen(warehouse.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    rows = in_window(frame)
    exact = window_summaries(warehouse, monitor, columns, WINDOW, local_max_rows=0)
    half = len(rows) // 2
    sampled = window_summaries(warehouse, monitor, columns, WINDOW, local_max_rows=0, max_rows=half)
    assert any("TABLESAMPLE system" in s for s in statements)
    full = sketch(exact, ("m1@p1", "*"), "latency_ms")
    part = sketch(sampled, ("m1@p1", "*"), "latency_ms")
    assert full.count == rows[rows.model_version == "m1"].latency_ms.notna().sum()
    assert 0.1 * full.count < part.count < 0.9 * full.count
    verdict, _ = judge(columns[0], full, part, Criteria())
    assert verdict.drifted is False, verdict
    warehouse.dispose()


def test_attribution_summaries_count_each_cohort_and_each_pair_of_cohorts(loaded):
    """`cross_summaries` (what attribution takes apart): the release and each cohort hold what
    the window's summaries hold, and each pair of cohort values what its rows hold."""
    warehouse, monitor, frame = loaded
    wanted = {"latency_ms", "status", "is_fallback", "region"}
    columns = [c for c in drift_columns(monitor) if c.name in wanted]
    got = cross_summaries(
        warehouse, monitor, columns, WINDOW, ("m1", "p1"), ["route", "region"], None
    )
    single = window_summaries(
        warehouse,
        monitor,
        columns,
        WINDOW,
        release=("m1", "p1"),
        dimensions=[None, "route", "region"],
    )
    for (_, cohort), summary in single.items():
        mine = got[("*",) if cohort == "*" else (cohort,)]
        for name, expected in summary.categories.items():
            assert mine.categories[name] == expected, (cohort, name)
        for name, expected in summary.sketches.items():
            assert mine.sketches[name].count == expected.count, (cohort, name)
    rows = in_window(frame)
    m1 = rows[rows.model_version == "m1"]
    pairs = m1.groupby([m1.route.fillna("(null)"), m1.region])
    assert len(pairs) > 3
    for (route, region), part in pairs:
        summary = got[(f"route={route}", f"region={region}")]
        statuses = {str(k): float(v) for k, v in part.status.value_counts().items()}
        assert counts({"g": summary}, "g", "status") == statuses
        assert counts({"g": summary}, "g", "region") == {region: float(len(part))}
        flags = counts({"g": summary}, "g", "is_fallback")
        assert flags.get("(null)", 0.0) == part.is_fallback.isna().sum()
        assert sum(flags.values()) == len(part)
        latency = summary.sketches.get(feature_key("latency_ms"))
        assert (latency.count if latency else 0) == part.latency_ms.notna().sum()
