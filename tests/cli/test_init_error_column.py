"""`lookout init` on a table that logs no status but the error of a failed request (NULL when
it succeeded) maps that column as the status with `null_status: ok`, and the windows it then
runs store the real error rate, not 100%."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from tests.fixtures.init_tables import END, requests_frame
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.store import ResultsStore
from lookout.windows import Window

MESSAGES = {429: "RateLimitError: rate limit reached", 500: "APIError: internal server error"}


@pytest.mark.parametrize(
    ("kind", "column"),
    [("message", "error_message"), ("code", "error_message"), ("message", "status_message")],
)
def test_an_error_column_becomes_the_status_and_the_error_rate_is_real(
    tmp_path: Path, kind, column
):
    """A message (text) or a code (integer, NULL without an error: the default ok words fit
    no integer, and need not); named like an error, or like a status whose values are no ok
    word (Langfuse's `status_message`)."""
    frame = requests_frame()  # http_status 200 (93%), 429, 500
    codes = frame.pop("http_status")
    if kind == "message":
        frame["error_message"] = [MESSAGES.get(int(code)) for code in codes]
        frame["error_message"] = frame["error_message"].astype(object)
    else:
        frame["error_message"] = codes.where(codes != 200).astype("Int64")
    frame = frame.rename(columns={"error_message": column})
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    engine.dispose()
    cfg = tmp_path / "cfg"
    args = ["init", "--table", "requests", "--warehouse-url", url, "--yes"]
    args += ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    written = (cfg / "monitors.yml").read_text()
    assert "null_status: ok" in written and "SET ok_statuses" not in written
    # the error-rate rules are sized on the sample's real rate, not on 100%
    assert "name: error_rate" in written and "threshold: 0.95" not in written
    source = load_monitors(cfg / "monitors.yml").monitors[0].source
    assert source.columns["status"] == column and source.null_status == "ok"

    size = load_monitors(cfg / "monitors.yml").monitors[0].window.size
    first = END - timedelta(hours=24)
    windows = [
        Window(first + k * size, first + (k + 1) * size)
        for k in range(24 * 3600 // int(size.total_seconds()))
    ]
    config = check_and_run(cfg, windows)
    store = ResultsStore(config.target.store.url.get_secret_value())
    try:
        stored = [
            r
            for r in store.metrics(config.monitors.monitors[0].name, metric="error_rate")
            if r["cohort"] == "*"
        ]
    finally:
        store.dispose()
    day = frame[frame["created"] >= first.replace(tzinfo=None)]
    failed = day[column].notna()
    assert sum(r["n"] for r in stored) == len(day)  # every request has a known status
    errors = sum(r["value"] * r["n"] for r in stored)
    assert round(errors) == failed.sum() and 0 < failed.mean() < 0.2
    assert np.isclose(errors / len(day), failed.mean())
