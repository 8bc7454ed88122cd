"""A new user's own table, end to end on PostgreSQL, SQLite and DuckDB, through the command
line only: `init --yes`, `validate-config --check-warehouse`, `backfill` (in-process, then
again: every window skipped as stored), `releases` and `results --format json`; the numbers
are checked against pandas over the same rows.

The table has nobody's default names: integer HTTP status codes, integer thumbs (+1/-1), the
app version as the release, token and cost columns under their own names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.fixtures.init_tables import END, requests_frame, requests_table
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config
from lookout.core.sketch import ALPHA
from lookout.store import ResultsStore

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

HOURS = 48
START = END - timedelta(hours=HOURS)
DIALECTS = [pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite", "duckdb"]


def own_frame() -> pd.DataFrame:
    """requests_frame() with token and cost columns under their own names."""
    frame = requests_frame(hours=HOURS)
    rng = np.random.default_rng(11)
    tokens_in = rng.integers(40, 900, len(frame))
    tokens_out = rng.integers(5, 400, len(frame))
    return frame.assign(
        tokens_in=tokens_in.astype(np.int64),
        tokens_out=tokens_out.astype(np.int64),
        total_cost=((tokens_in * 0.15 + tokens_out * 0.6) / 1e6).round(8),
    )


def load_own_table(engine: sa.Engine, frame: pd.DataFrame, schema: str | None, aware: bool):
    metadata = sa.MetaData()
    table = requests_table(metadata, "requests", schema, aware=aware)
    table.append_column(sa.Column("tokens_in", sa.Integer))
    table.append_column(sa.Column("tokens_out", sa.Integer))
    table.append_column(sa.Column("total_cost", sa.Float))
    metadata.create_all(engine)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        moment = row["created"].to_pydatetime()
        row["created"] = moment.replace(tzinfo=UTC) if aware else moment
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


@pytest.fixture
def own_table(request, tmp_path: Path) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(warehouse URL, --table value, the rows) of the table on one dialect."""
    frame = own_frame()
    if request.param == "postgresql":
        pg_url, schema = request.getfixturevalue("pg_schema")
        engine = sa.create_engine(pg_url)
        load_own_table(engine, frame, schema, aware=True)  # timestamptz
        engine.dispose()
        yield pg_url, f"{schema}.requests", frame
        return
    suffix = "sqlite" if request.param == "sqlite" else "duckdb"
    url = f"{request.param}:///{tmp_path / f'wh.{suffix}'}"
    engine = sa.create_engine(url)
    load_own_table(engine, frame, None, aware=False)
    engine.dispose()
    yield url, "requests", frame


def cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def expected(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Per release (model@app version), recomputed with pandas from the rows."""
    frame = frame.assign(release=frame["model_name"] + "@" + frame["app_version"])
    out = {}
    for release, rows in frame.groupby("release"):
        status = rows["http_status"]
        out[release] = {
            "n": len(rows),
            "error_rate": float((~status.between(200, 299)).mean()),
            "latency": np.sort(rows["duration_ms"].to_numpy(float)),
            "cost_usd": float(rows["total_cost"].sum()),
            "prompt_tokens_mean": float(rows["tokens_in"].mean()),
            "completion_tokens_mean": float(rows["tokens_out"].mean()),
            "negative_feedback_rate": float(
                (rows["thumbs"] == -1).sum() / rows["thumbs"].notna().sum()
            ),
            "first": rows["created"].min(),
            "last": rows["created"].max(),
        }
    return out


def within_sketch_error(value: float, ordered: np.ndarray, q: float) -> bool:
    """`value` is within the sketch's relative error of `percentile_cont` on the data: each
    rank's value within ALPHA, interpolated between the two ranks around q * (n - 1) (twice
    ALPHA: SQL's and numpy's logarithms may put a value across a bucket boundary)."""
    exact = float(np.quantile(ordered, q))
    return abs(value - exact) <= 2 * ALPHA * exact


def floor_to(moment: pd.Timestamp, size: timedelta) -> pd.Timestamp:
    epoch = pd.Timestamp("1970-01-01")
    return epoch + ((moment - epoch) // size) * size


@pytest.mark.parametrize("own_table", DIALECTS, indirect=True)
def test_own_table_from_init_to_results_matches_pandas(tmp_path, own_table, prefect_api):
    url, table, frame = own_table
    cfg = tmp_path / "cfg"
    files = ["--profiles", cfg / "profiles.yml", "--monitors", cfg / "monitors.yml"]
    made = cli("init", "--table", table, "--warehouse-url", url, *files, "--yes")
    assert made.exit_code == 0, made.output
    config = load_config(cfg / "profiles.yml", cfg / "monitors.yml")
    [monitor] = config.monitors.monitors
    columns = monitor.source.columns
    assert columns["status"] == "http_status" and columns["feedback"] == "thumbs"
    assert columns["prompt_tokens"] == "tokens_in" and columns["cost_usd"] == "total_cost"
    assert columns["completion_tokens"] == "tokens_out"
    size = monitor.window.size

    checked = cli("validate-config", "--check-warehouse", *files)
    assert checked.exit_code == 0, checked.output

    span = ["--start", f"{START:%Y-%m-%dT%H:%M}Z", "--end", f"{END:%Y-%m-%dT%H:%M}Z"]
    windows = HOURS * 3600 // int(size.total_seconds())
    first = cli("backfill", "--monitor", monitor.name, *span, *files)
    assert first.exit_code == 0, first.output
    assert f"backfill: {windows} window(s) run, 0 skipped, 0 failed, {len(frame):,} rows" in (
        first.output
    )
    again = cli("backfill", "--monitor", monitor.name, *span, *files)
    assert again.exit_code == 0, again.output
    assert (
        f"backfill: 0 window(s) run, {windows} skipped because their results are already "
        "stored (--force recomputes them), 0 failed" in " ".join(again.output.split())
    )

    store = ResultsStore.from_target(config.target.store)
    try:  # integer statuses and thumbs flow through every stage
        assert {r["status"] for r in store.runs(monitor.name)} == {"succeeded"}
        checks = store.validations(monitor.name)
        assert checks and {c["status"] for c in checks} == {"passed"}  # none errored
        judged: dict[str, set[str]] = {}
        for judgment in store.judgments(monitor.name):
            judged.setdefault(judgment["evaluator"], set()).add(judgment["record_id"])
        # a sample plus the flagged records, not every record read as an error and graded
        assert judged and all(len(ids) < 0.9 * len(frame) for ids in judged.values()), judged
    finally:
        store.dispose()

    want = expected(frame)
    listed = cli("releases", "--monitor", monitor.name, "--format", "json", *files)
    assert listed.exit_code == 0, listed.output
    releases = {r["release"]: r for r in json.loads(listed.output)}
    assert set(releases) == set(want)
    for name, row in releases.items():
        truth = want[name]
        assert row["records"] == truth["n"]
        assert row["traffic_share"] == pytest.approx(truth["n"] / len(frame))
        assert pd.Timestamp(row["first_seen"]).tz_localize(None) == floor_to(truth["first"], size)
        assert (
            pd.Timestamp(row["last_seen"]).tz_localize(None) == floor_to(truth["last"], size) + size
        )
        assert isinstance(row["open_alerts"], int) and row["open_alerts"] >= 0
    table_out = cli("releases", *files)  # the table at 80 columns (not a terminal)
    assert table_out.exit_code == 0
    assert max(len(line) for line in table_out.output.splitlines()) <= 80
    assert len(re.findall(r"\d+\.\d%", table_out.output)) == len(releases)

    results = cli("results", "--format", "json", *files)
    assert results.exit_code == 0, results.output
    rows = {r["release"]: r for r in json.loads(results.output)}
    assert set(rows) == set(want)
    for name, row in rows.items():
        truth = want[name]
        assert row["cohort"] == "*"
        assert row["n"] == truth["n"]
        assert row["error_rate"] == pytest.approx(truth["error_rate"], abs=1e-12)
        for metric, q in (
            ("latency_p50_ms", 0.5),
            ("latency_p95_ms", 0.95),
            ("latency_p99_ms", 0.99),
        ):
            assert within_sketch_error(row[metric], truth["latency"], q), (metric, row[metric])
        assert row["cost_usd"] == pytest.approx(truth["cost_usd"], rel=1e-9)
        assert row["prompt_tokens_mean"] == pytest.approx(truth["prompt_tokens_mean"], rel=1e-12)
        assert row["completion_tokens_mean"] == pytest.approx(
            truth["completion_tokens_mean"], rel=1e-12
        )
        assert row["negative_feedback_rate"] == pytest.approx(truth["negative_feedback_rate"])
