"""A table whose version columns are not filled on every row gets `release: []` from
`lookout init` (every row is the one release, `default`). Drift is on in that proposal, so its
windows must run with it: they failed on every engine (`Length of values (0) does not match
length of index`) before the drift read labelled the release."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, PROFILES_YAML, T0, make_requests, write_tables
from tests.window_results import engine_url

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.store import schema
from lookout.windows import Window

H = timedelta(hours=1)
WEEK = timedelta(days=7)


def _no_release_config(tmp_path, warehouse: str):  # type: ignore[no-untyped-def]
    monitors = (
        MONITOR_YAML.format(table="app_requests", schema_line="", pushdown="auto", threshold=0.9)
        .replace(
            "      ok_statuses: [ok]\n",
            "      ok_statuses: [ok]\n      release: []\n",
        )
        .replace(
            "    rules:\n",
            "    drift:\n      enabled: true\n      reference: {kind: week_ago}\n"
            "      cohorts: true\n    rules:\n",
        )
    )
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "monitors.yml").write_text(monitors)
    store = f"sqlite:///{tmp_path / 'results.sqlite'}"
    (cfg / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=warehouse, store=store, out_dir=tmp_path / "out")
    )
    return load_config(cfg / "profiles.yml", cfg / "monitors.yml")


@pytest.mark.parametrize("engine_name", ALL_ENGINES[:3])
def test_a_table_without_a_release_runs_its_drift_against_a_week_ago(
    engine_name, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    week_before = make_requests(hours=1, per_hour=150, seed=3)
    week_before["event_time"] -= WEEK
    week_before["ingested_at"] -= WEEK
    week_before["request_id"] = "w-" + week_before["request_id"].astype(str)
    now = make_requests(hours=1, per_hour=150, seed=4)
    now["prompt"] = "what is my quota? " * 40  # prompts ~40x longer than a week before
    write_tables(url, app_requests=pd.concat([week_before, now], ignore_index=True))
    ctx = Context.from_config(_no_release_config(tmp_path, url))
    monitor = ctx.config.monitors.monitors[0]
    assert monitor.source.release == []
    for start in (T0 - WEEK, T0):
        result = run_window(ctx, monitor, Window(start, start + H))
        assert result.status == "succeeded", result.error
        assert "default" in result.releases
    with ctx.store.engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.summaries.c.release, schema.summaries.c.cohort).where(
                schema.summaries.c.stage == "drift"
            )
        ).all()
    assert {release for release, _ in stored} == {"default"}
    assert ("default", "*") in stored
    assert any(item.startswith("default * input_length") for item in result.drifted)
    ctx.close()
