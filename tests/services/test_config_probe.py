"""`validate-config --check-warehouse` reads what the newest day's rows read as under the config
and warns when no production table looks like that: a `where` that keeps no row, statuses
that are all errors, a unit off by a factor, an event time in the wrong epoch unit, a table
whose newest row is days old. Each of these passed every check in a trial and then gave runs
of 0 rows, 100% errors or costs of 1e-08 USD; each warning names its file, line and key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_tables
from tests.window_results import engine_url, project
from typer.testing import CliRunner

from lookout.cli import app

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _requests(newest: datetime) -> pd.DataFrame:
    """The test requests moved so that their last hour ends at `newest`."""
    frame = make_requests(hours=3)
    shift = pd.Timedelta(newest - (T0 + timedelta(hours=3)))
    for column in ("event_time", "ingested_at"):
        frame[column] = frame[column] + shift
    return frame


def _validate(directory: Path, monitors: str = "monitors.yml"):  # type: ignore[no-untyped-def]
    files = ["--profiles", str(directory / "profiles.yml"), "--monitors", str(directory / monitors)]
    return CliRunner().invoke(app, ["validate-config", "--check-warehouse", *files])


def _check(directory: Path) -> tuple[int, list[str]]:
    result = _validate(directory)
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    return result.exit_code, warnings


def _monitors(**replace: str) -> str:
    text = MONITOR_YAML.format(table="app_requests", schema_line="", pushdown="auto", threshold=0.2)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


CASES = {
    "fits": ({}, None),
    "versions": (
        {},
        "monitors[0].source.columns.record_id: 150 of the 750 rows read from the newest day "
        "repeat a record id (e.g. ",
    ),
    "where": (
        {"ok_statuses: [ok]\n": "ok_statuses: [ok]\n      where: {region: Europe}\n"},
        "monitors[0].source.where: none of the rows passes where/where_not (region in "
        "['Europe']): every window reads 0 rows. In the table's newest day (600 rows read) "
        "region holds ",
    ),
    "statuses": (
        {"ok_statuses: [ok]": "ok_statuses: [OK, success]"},
        "monitors[0].source.ok_statuses: 100% of the 600 rows read from the newest day are "
        "errors with ok_statuses ['OK', 'success']; the statuses they hold: ok (",
    ),
}


@pytest.mark.parametrize("engine_name", ALL_ENGINES[:3])
@pytest.mark.parametrize("case", list(CASES))
def test_what_the_newest_rows_read_as_is_checked_on_each_engine(
    engine_name, case, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    frame = _requests(NOW - timedelta(hours=2))
    if case == "versions":  # a second version of every fourth row (an upsert log)
        frame = pd.concat([frame, frame.iloc[::4]], ignore_index=True)
    write_tables(url, app_requests=frame)
    replace, said = CASES[case]
    directory = project(tmp_path, url, "cfg", _monitors(**replace))
    code, warnings = _check(directory)
    assert code == 0  # warnings: the table may really be like that
    if said is None:
        assert warnings == []
        return
    [warning] = warnings
    file, line, column, rest = warning.removeprefix("warning: ").split(":", 3)
    assert file == str(directory / "monitors.yml") and int(line) > 1 and int(column) > 1
    assert rest.startswith(" " + said), rest


def test_a_unit_off_by_a_factor_is_pointed_at_its_key(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    write_tables(url, app_requests=_requests(NOW - timedelta(hours=2)))
    units = "      ok_statuses: [ok]\n      units: {latency_ms: s, cost_usd: micro_usd}\n"
    directory = project(tmp_path, url, "cfg", _monitors(**{"      ok_statuses: [ok]\n": units}))
    code, warnings = _check(directory)
    assert code == 0
    assert [w.split(": ", 3)[2] for w in warnings] == [
        "monitors[0].source.units.latency_ms",  # by its name
        "monitors[0].source.units.latency_ms",  # by its values
        "monitors[0].source.units.cost_usd",
    ]
    assert "column 'latency_ms' is named in ms and read as s" in warnings[0]
    assert "reads as 1.1" in warnings[1] and "e+06 ms" in warnings[1]  # ~1.1 s read as s
    assert "now s)" in warnings[1] and "now micro_usd)" in warnings[2]


def test_a_wrong_epoch_unit_and_an_old_table_are_told_apart(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    old = _requests(NOW - timedelta(days=10))
    epoch = old.assign(created_ms=(old["event_time"] - pd.Timestamp(0)) // pd.Timedelta("1ms"))
    write_tables(url, app_requests=old, requests_ms=epoch)
    stale = project(tmp_path, url, "stale", _monitors())
    [warning] = _check(stale)[1]
    assert ": monitors[0].source: the newest row is from " in warning
    assert ", 10 days ago: runs read empty windows" in warning
    wrong_unit = project(
        tmp_path,
        url,
        "unit",
        _monitors(
            **{
                "table: app_requests": "table: requests_ms",
                "ts: event_time": "ts: created_ms",
                "ok_statuses: [ok]\n": "ok_statuses: [ok]\n      units: {ts: epoch_us}\n",
            }
        ),
    )
    [warning] = _check(wrong_unit)[1]
    assert ": monitors[0].source.units.ts: the newest event time reads as 1970-01-" in warning
    assert "now epoch_us)" in warning


def test_a_mistyped_column_names_the_file_given_and_its_line(tmp_path):
    """`--monitors m1.yml` and its line, not `monitors.yml:` without one."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    write_tables(url, app_requests=_requests(NOW))
    directory = project(tmp_path, url, "cfg", _monitors(**{"ttft_ms: ttft_ms": "ttft_ms: ttft"}))
    (directory / "monitors.yml").rename(directory / "m1.yml")
    result = _validate(directory, "m1.yml")
    assert result.exit_code == 2
    said = result.output.replace("\n", "")
    assert f"{directory / 'm1.yml'}:20:9: monitors[0].source.columns.ttft_ms: column 'ttft'" in said


def test_a_filter_value_no_row_holds_and_a_status_mostly_null_are_pointed_out(tmp_path):
    """`where: {region: [eu, Europe]}` keeps eu's rows and silently none of 'Europe' (a trial
    dropped claude's rows with `Claude`); an error column read as the status without
    `null_status: ok` counts only the failures, so every error rate reads 100%."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    frame = _requests(NOW - timedelta(hours=2))
    frame["status"] = frame["status"].where(frame["status"] == "error", None)  # NULL on success
    write_tables(url, app_requests=frame)
    filtered = "ok_statuses: [ok]\n      where: {region: [eu, Europe]}\n"
    directory = project(tmp_path, url, "cfg", _monitors(**{"ok_statuses: [ok]\n": filtered}))
    code, warnings = _check(directory)
    assert code == 0
    said = {w.split(": ", 3)[2]: w.split(": ", 3)[3] for w in warnings}
    assert said["monitors[0].source.where.region"].startswith(
        "no row of the newest day holds 'Europe'; region holds "
    )
    assert said["monitors[0].source.null_status"].startswith("the status is NULL on 9")
    assert "set null_status: ok" in said["monitors[0].source.null_status"]
