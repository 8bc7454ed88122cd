"""duckdb_engine reflects TIMESTAMPTZ as a TIMESTAMP without a zone: a trial's `source.timezone`
on such a column passed every check and moved each window by an hour (its 09:00 window stored
10:00's rows). Lookout reads the zone from DuckDB's catalog: the zone setting is refused at its
key, as on PostgreSQL, and the column is bound and read as the instant it is."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests
from tests.window_results import check_refusal, project, stored_by_window

from lookout.config.models import SourceConfig
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

H = timedelta(hours=1)


def _zoned_table(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    frame = make_requests(hours=3, per_hour=100)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.register("frame_view", frame)
        raw.execute(
            "CREATE TABLE zoned AS SELECT * REPLACE (timezone('UTC', event_time) AS event_time, "
            "timezone('UTC', ingested_at) AS ingested_at) FROM frame_view"
        )
        raw.execute("CREATE TABLE plain AS SELECT * FROM frame_view")
        raw.unregister("frame_view")
    engine.dispose()
    return url


def _monitors(table: str, zone: str | None = None) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="auto", threshold=0.2)
    if zone is not None:
        text = text.replace(
            "      ok_statuses: [ok]\n", f"      ok_statuses: [ok]\n      timezone: {zone}\n"
        )
    return text


def test_a_timestamptz_column_is_reflected_with_its_zone(tmp_path):
    url = _zoned_table(tmp_path)
    warehouse = Warehouse(url)
    try:
        source = SourceConfig(
            table="zoned", columns={"record_id": "request_id", "ts": "event_time"}
        )
        columns = warehouse.table_columns(source)
    finally:
        warehouse.dispose()
    assert columns["event_time"].timezone is True
    assert getattr(columns["request_id"], "timezone", False) is False


def test_a_zone_setting_on_a_timestamptz_column_is_refused(tmp_path):
    url = _zoned_table(tmp_path)
    said = check_refusal(project(tmp_path, url, "berlin", _monitors("zoned", "Europe/Berlin")))
    assert "monitors[0].source.timezone: 'Europe/Berlin' applies to timestamps without" in said


def test_a_window_of_a_timestamptz_column_stores_what_the_same_utc_times_store(tmp_path):
    url = _zoned_table(tmp_path)
    window = Window(T0 + H, T0 + 2 * H)
    plain = stored_by_window(project(tmp_path, url, "plain", _monitors("plain")), window)
    zoned = stored_by_window(project(tmp_path, url, "zoned", _monitors("zoned")), window)
    assert zoned == plain
    assert any(r[2] == "error_rate" for r in plain["metrics"])  # the window read its rows
