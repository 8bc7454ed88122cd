"""The evaluators read their sample back by record id: bound as the id column stores ids. An
integer id column compared with the sample's text ids failed every window on PostgreSQL
(`operator does not exist: bigint = character varying`), with the window's ops metrics, on the
evaluators `lookout init` turns on; the other engines compared the two as they saw fit."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, T0, make_requests, text_monitor_yaml, write_table
from tests.window_results import engine_url, project, stored_by_window

from lookout.windows import Window

EVALUATORS = """
    evaluators:
      enabled: true
      sampling: {share: 0.3}
      checks:
        - {name: refusal}
"""
JUDGED = {
    "judged": "SELECT record_id, evaluator, status FROM judgments",
    "metrics": "SELECT release, cohort, metric, n FROM metrics WHERE metric = 'error_rate'",
}


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_a_sample_of_integer_ids_is_read_back_and_judged(engine_name, tmp_path, request):
    url = engine_url(engine_name, tmp_path, request)
    frame = make_requests(hours=1, per_hour=120)
    frame["request_id"] = (10_000 + frame.index).astype("int64")  # an integer key
    frame["answer"] = "Open Settings, then Billing, and choose a plan."
    frame["ctx"] = "Plans are changed under Settings > Billing."
    engine = sa.create_engine(url)
    write_table(engine, frame)
    engine.dispose()
    directory = project(tmp_path, url, "cfg", text_monitor_yaml(0.9, EVALUATORS))
    stored = stored_by_window(directory, Window(T0, T0 + timedelta(hours=1)), JUDGED)
    judged = stored["judged"]
    assert 20 <= len(judged) <= 60  # about 30% of 120, each read back and judged
    assert {evaluator for _, evaluator, _ in judged} == {"refusal"}
    ids = {int(record_id) for record_id, _, _ in judged}
    assert ids <= set(frame["request_id"]) and len(ids) == len(judged)
    assert sum(n for _, cohort, _, n in stored["metrics"] if cohort == "*") == 120


def test_an_id_logged_twice_in_a_window_is_judged_once(tmp_path):
    """A table that keeps versions of a row (ClickHouse's ReplacingMergeTree read without
    FINAL, an upsert log): the sample read back by id got both versions, judged them twice,
    and the store refused the second judgment, failing every such window (trial J)."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    frame = make_requests(hours=1, per_hour=120)
    frame["answer"] = "Open Settings, then Billing, and choose a plan."
    frame["ctx"] = "Plans are changed under Settings > Billing."
    again = frame.iloc[::4].assign(latency_ms=lambda f: f["latency_ms"] + 1)  # a later version
    engine = sa.create_engine(url)
    write_table(engine, pd.concat([frame, again], ignore_index=True))
    engine.dispose()
    sampled = EVALUATORS.replace("share: 0.3", "share: 1.0")
    directory = project(tmp_path, url, "cfg", text_monitor_yaml(0.9, sampled))
    stored = stored_by_window(directory, Window(T0, T0 + timedelta(hours=1)), JUDGED)
    ids = [record_id for record_id, _, _ in stored["judged"]]
    assert sorted(ids) == sorted(set(frame["request_id"]))  # every record, once
