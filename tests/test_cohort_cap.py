"""The cohort cap through run_window: a cohort column with a value per record stays bounded in
rows written and memory, on the pushdown (DuckDB) and pandas (SQLite) paths, and every stage
pools the same values as `(other)`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.pipeline import Context, run_window
from lookout.store import schema
from lookout.windows import Window

H = timedelta(hours=1)
ROWS = 100_000


def _frame() -> pd.DataFrame:
    """A quiet reference hour, then one hour of 100k records, each with its own `user`."""
    reference = make_requests(hours=1, per_hour=2_000, seed=3)
    busy = make_requests(hours=1, per_hour=ROWS, seed=4)
    busy["request_id"] = [f"b{i:07d}" for i in range(ROWS)]
    for column in ("event_time", "ingested_at"):
        busy[column] = busy[column] + pd.Timedelta(hours=1)
    frame = pd.concat([reference, busy], ignore_index=True)
    frame["user_id"] = [f"user-{i}" for i in range(len(frame))]
    # a few heavy users: they are the ones kept
    heavy = np.arange(len(frame)) % 1000 == 0
    frame.loc[heavy, "user_id"] = "whale-" + (np.arange(heavy.sum()) % 5).astype(str)
    return frame


def _project(tmp_path: Path, dialect: str) -> Context:
    if dialect == "duckdb":
        warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    else:
        warehouse = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    cfg = tmp_path / "cfg"
    write_config(cfg, warehouse=warehouse, store=f"sqlite:///{tmp_path / 'results.sqlite'}")
    monitors = (cfg / "monitors.yml").read_text()
    monitors = monitors.replace(
        "cohorts: [route, region]",
        "cohorts: [route, region, user_id]\n      max_cohort_values: 10",
    ).replace(
        "    rules:\n",
        "    validation: {enabled: false}\n"
        "    drift:\n"
        "      enabled: true\n"
        "      reports: {enabled: false}\n"
        "      reference: {kind: baseline, start: 2026-11-02T00:00:00Z,"
        " end: 2026-11-02T01:00:00Z}\n"
        "    rules:\n",
    )
    (cfg / "monitors.yml").write_text(monitors)
    return Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_a_window_of_distinct_cohort_values_stays_bounded(tmp_path, dialect, monkeypatch):
    from lookout.stages.ops import stage as ops_stage

    # `metrics.pushdown: auto` aggregates in DuckDB from this many rows: the busy window's
    monkeypatch.setattr(ops_stage, "PUSHDOWN_FROM_ROWS", ROWS)
    ctx = _project(tmp_path, dialect)
    monitor = ctx.config.monitors.monitors[0]
    try:
        first = run_window(ctx, monitor, Window(T0, T0 + H))
        assert first.status == "succeeded", first.error
        before = _rss_mb("VmRSS:")
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from here
        busy = run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))
        grew = _rss_mb("VmHWM:") - before
        assert busy.status == "succeeded", busy.error
        assert busy.rows == ROWS
        assert busy.metric_path == ("pushdown" if dialect == "duckdb" else "pandas")
        with ctx.store.engine.connect() as conn:
            metrics = pd.read_sql(
                sa.select(schema.metrics).where(
                    schema.metrics.c.window_start == (T0 + H).replace(tzinfo=None)
                ),
                conn,
            )
            drift = pd.read_sql(
                sa.select(schema.drift).where(
                    schema.drift.c.window_start == (T0 + H).replace(tzinfo=None)
                ),
                conn,
            )
    finally:
        ctx.close()
    users = sorted({c for c in metrics["cohort"] if c.startswith("user_id=")})
    # at most 10 kept values (the 5 heavy users first) and the pooled rest
    assert len(users) <= 11 and "user_id=(other)" in users
    assert {f"user_id=whale-{i}" for i in range(5)} <= set(users)
    counts = metrics[metrics["metric"] == "request_count"]
    per_release_users = counts[counts["cohort"].str.startswith("user_id=")]
    whole = counts[counts["cohort"] == "*"].set_index("release")["n"]
    # nothing lost: every release's users add up to the release
    assert per_release_users.groupby("release")["n"].sum().to_dict() == whole.to_dict()
    # bounded: 2 releases x (1 + 3 routes + 2 regions + 11 users) groups, a few dozen metrics each
    assert metrics[["release", "cohort"]].drop_duplicates().shape[0] <= 2 * 17
    assert len(metrics) < 2 * 17 * 40
    assert set(drift["cohort"]) <= set(metrics["cohort"])
    assert "user_id=(other)" in set(drift["cohort"])
    # uncapped, this window took 2.8 GB and wrote 1.4 million metric rows
    assert grew < 500, f"peak RSS grew by {grew:.0f} MB"


def _rss_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key} in /proc/self/status")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_cap_below_one_is_a_config_error_with_its_position(tmp_path, value):
    cfg = tmp_path / "cfg"
    write_config(
        cfg,
        warehouse=f"sqlite:///{tmp_path / 'wh.sqlite'}",
        store=f"sqlite:///{tmp_path / 'results.sqlite'}",
    )
    monitors = (cfg / "monitors.yml").read_text()
    marker = "cohorts: [route, region]"
    assert marker in monitors
    (cfg / "monitors.yml").write_text(
        monitors.replace(marker, f"{marker}\n      max_cohort_values: {value}")
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cfg / "profiles.yml", cfg / "monitors.yml")
    text = str(caught.value)
    assert "monitors.yml:" in text and "monitors[0]" in text and "max_cohort_values" in text
    line = next(
        i
        for i, row in enumerate((cfg / "monitors.yml").read_text().splitlines(), 1)
        if "max_cohort_values" in row
    )
    assert f"monitors.yml:{line}:" in text
