"""`lookout init` on a table written in a server's local time says so, in its output and in
the monitors.yml it writes (pointing at `source.timezone`); on a table written in UTC it says
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.fixtures.init_tables import END, load_requests, requests_frame
from typer.testing import CliRunner

from lookout.cli import app


def _init(tmp_path: Path, url: str):
    args = ["init", "--table", "requests", "--warehouse-url", url, "--yes"]
    args += ["--profiles", str(tmp_path / "profiles.yml")]
    args += ["--monitors", str(tmp_path / "monitors.yml")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split()), (tmp_path / "monitors.yml").read_text()


@pytest.mark.parametrize(
    ("zone", "said"),
    [
        ("Asia/Kolkata", "h ahead of now"),  # UTC+5:30: the newest rows are 'in the future'
        ("America/Chicago", "h before now"),  # UTC-6/-5: a busy table silent for hours
    ],
)
def test_init_says_when_the_event_times_look_local(tmp_path, zone, said):
    frame = requests_frame()  # 48 hours of ~20 rows an hour, up to END
    now = datetime.now(UTC).replace(microsecond=0)
    moved = pd.Timestamp(now.replace(tzinfo=None)) - pd.Timestamp(END.replace(tzinfo=None))
    local = (frame["created"] + moved).dt.tz_localize(UTC).dt.tz_convert(ZoneInfo(zone))
    frame["created"] = local.dt.tz_localize(None).astype("datetime64[us]")  # wall times
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    load_requests(engine, frame)
    engine.dispose()
    output, monitors = _init(tmp_path, url)
    assert "created's newest value" in output and said in output
    assert "set source.timezone to its zone" in output.replace("Set", "set")
    assert said in monitors and "source.timezone" in monitors  # a comment in the file


def test_init_says_nothing_for_a_table_written_in_utc(tmp_path):
    frame = requests_frame()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    frame["created"] = frame["created"] + (
        pd.Timestamp(now.replace(tzinfo=None)) - pd.Timestamp(END.replace(tzinfo=None))
    )
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    load_requests(engine, frame)
    engine.dispose()
    output, monitors = _init(tmp_path, url)
    assert "source.timezone" not in output and "source.timezone" not in monitors
