"""SQLite keeps a time as whatever text the app wrote. Written as ISO 8601 with a `T` and an
offset (`2026-11-02T14:03:11.123+00:00`, what `datetime.isoformat()` and most loggers write),
text compared with a window bound (`2026-11-02 23:00:00`) sorts every row of a day into its
23:00 window: a trial's hourly windows read 0 rows 23 times a day, the whole day at 23:00, and
missed two of three incidents. A window of such a table stores what the same records written
as SQLAlchemy writes them store."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import init_project
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import project, stored_by_window

from lookout.windows import Window

H = timedelta(hours=1)
VALIDATION = """\
    validation:
      expectations:
        - {kind: fresh, max_age: 20m}
        - {kind: not_null, column: record_id, severity: critical}
"""
COUNTS = {"rows": "SELECT window_start, rows, quarantined, max_ingested_at FROM windows"}


def _iso(values: pd.Series, styles: list[str]) -> list[str]:
    """Each time as ISO 8601 text in one of `styles`: `+00:00`, `Z`, or `+02:00` (the same
    instant as a Berlin server writes it with its offset)."""
    out = []
    for moment, style in zip(values, styles, strict=True):
        if style == "+02:00":
            local = moment + pd.Timedelta(hours=2)
            out.append(local.isoformat(timespec="milliseconds") + "+02:00")
        elif style == "Z":
            out.append(moment.isoformat(timespec="milliseconds") + "Z")
        else:
            out.append(moment.isoformat(timespec="milliseconds") + "+00:00")
    return out


def _monitors(table: str) -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="auto", threshold=0.2)
    return text.replace("    rules:\n", VALIDATION + "    rules:\n")


@pytest.mark.parametrize("declared", ["TEXT", "DATETIME"])
def test_iso_text_times_with_a_t_and_an_offset_read_the_rows_of_their_hour(tmp_path, declared):
    frame = make_requests(hours=3, per_hour=120)
    frame["event_time"] = frame["event_time"].dt.floor("ms")
    frame["ingested_at"] = frame["ingested_at"].dt.floor("ms")
    styles = [("+00:00", "Z", "+02:00")[i % 3] for i in range(len(frame))]
    written = frame.copy()
    for column in ("event_time", "ingested_at"):
        written[column] = _iso(frame[column], styles)
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="plain")
    columns = ", ".join(
        f'"{c}" {declared}' if c in ("event_time", "ingested_at") else f'"{c}"'
        for c in written.columns
    )
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE iso ({columns})"))
    written.to_sql("iso", engine, if_exists="append", index=False)
    engine.dispose()

    window = Window(T0 + H, T0 + 2 * H)
    queries = {**COUNTS, "metrics": "SELECT release, cohort, metric, round(value, 6), n "
               "FROM metrics"}  # fmt: skip
    plain = stored_by_window(project(tmp_path, url, "plain", _monitors("plain")), window, queries)
    iso = stored_by_window(project(tmp_path, url, "iso", _monitors("iso")), window, queries)
    in_hour = frame[
        (frame["event_time"] >= pd.Timestamp(window.start.replace(tzinfo=None)))
        & (frame["event_time"] < pd.Timestamp(window.end.replace(tzinfo=None)))
    ]
    assert [row[1] for row in plain["rows"]] == [len(in_hour)]
    assert iso == plain


def test_a_local_time_table_keeps_text_that_says_its_own_offset_in_its_utc_hour(tmp_path):
    """`source.timezone: Europe/Berlin` is for times written without a zone: wall times in `T`
    text are read in Berlin, and a `Z` or `+01:00` text is the instant it says (it was read
    as a Berlin wall time too, an hour off)."""
    frame = make_requests(hours=3, per_hour=120)
    frame["event_time"] = frame["event_time"].dt.floor("ms")
    frame["ingested_at"] = frame["ingested_at"].dt.floor("ms")
    written = frame.copy()
    for column in ("event_time", "ingested_at"):
        texts = []
        for i, moment in enumerate(frame[column]):
            berlin = moment + pd.Timedelta(hours=1)  # November: UTC+1
            if i % 3 == 0:
                texts.append(berlin.isoformat(timespec="milliseconds"))  # wall time, no zone
            elif i % 3 == 1:
                texts.append(moment.isoformat(timespec="milliseconds") + "Z")
            else:
                texts.append(berlin.isoformat(timespec="milliseconds") + "+01:00")
        written[column] = texts
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="plain")
    written.to_sql("berlin", engine, index=False)
    engine.dispose()
    window = Window(T0 + H, T0 + 2 * H)
    queries = {**COUNTS, "metrics": "SELECT release, cohort, metric, round(value, 6), n "
               "FROM metrics"}  # fmt: skip
    plain = stored_by_window(project(tmp_path, url, "plain", _monitors("plain")), window, queries)
    zoned = _monitors("berlin").replace(
        "      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n      timezone: Europe/Berlin\n"
    )
    assert stored_by_window(project(tmp_path, url, "berlin", zoned), window, queries) == plain


def test_init_reads_the_newest_day_of_iso_text_times(tmp_path):
    """init's sample of the newest day, of a table whose times are `T` text with a `Z`, up to
    now: its reads compare times as the windows do (`Dialect.time_compared`), and it holds
    exactly the newest day's rows."""
    end = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min") - pd.Timedelta(minutes=1)
    n = 960
    frame = make_requests(hours=48, per_hour=n // 48)
    frame["event_time"] = end - pd.to_timedelta(range(n), unit="min") * 3
    frame["ingested_at"] = frame["event_time"]
    frame["event_time"] = [t.isoformat(timespec="milliseconds") + "Z" for t in frame["event_time"]]
    frame["ingested_at"] = frame["event_time"]
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    engine = sa.create_engine(url)
    frame.to_sql("iso_log", engine, index=False)
    engine.dispose()
    cfg = tmp_path / "cfg"
    output, _source = init_project(cfg, url, "iso_log")
    # the newest day: 24 h at a row every 3 minutes, 06:00 itself included
    assert " 480 rows of the newest day" in " ".join(output.split()), output
