"""A table that says "a fallback answered" in its status column (a fraud model's
`FALLBACK_RULES`, an LLM gateway's `cached`): `source.fallback_statuses` makes those values no
error and the fallback rate's count, pushed down or in pandas alike (DuckDB, MariaDB)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
STATUSES = ("OK", "TIMEOUT", "MODEL_ERROR", "FALLBACK_RULES")


def _scored() -> pd.DataFrame:
    frame = make_requests().drop(columns=["is_fallback"])
    rng = np.random.default_rng(8)
    frame["status"] = rng.choice(STATUSES, len(frame), p=[0.8, 0.03, 0.02, 0.15])
    return frame


def _monitors(pushdown: str) -> str:
    text = MONITOR_YAML.format(table="scores", schema_line="", pushdown=pushdown, threshold=0.2)
    text = text.replace("        is_fallback: is_fallback\n", "")
    return text.replace(
        "      ok_statuses: [ok]\n",
        "      ok_statuses: [OK]\n      fallback_statuses: [FALLBACK_RULES]\n",
    )


@pytest.mark.parametrize(
    "backend",
    [
        "duckdb",
        pytest.param("mysql", marks=pytest.mark.mysql),  # its CASE gives 0/1, not booleans
    ],
)
def test_fallback_statuses_are_no_errors_and_make_the_fallback_rate(backend, tmp_path, request):
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    else:
        fixture = "pg_database" if backend == "postgresql" else "mysql_database"
        url = request.getfixturevalue(fixture)
    frame = _scored()
    engine = sa.create_engine(url)
    write_table(engine, frame, table="scores")
    engine.dispose()
    pushed = stored_by_window(project(tmp_path, url, "pushed", _monitors("on")), WINDOW)
    in_pandas = stored_by_window(project(tmp_path, url, "pandas", _monitors("off")), WINDOW)
    assert pushed["metrics"] == in_pandas["metrics"]
    inside = frame[
        (frame["event_time"] >= pd.Timestamp(WINDOW.start.replace(tzinfo=None)))
        & (frame["event_time"] < pd.Timestamp(WINDOW.end.replace(tzinfo=None)))
    ]
    metrics = {(r[1], r[2]): r[3] for r in pushed["metrics"] if r[0] == "m1@p1"}
    ours = inside[inside["model_version"] == "m1"]
    errors = ours["status"].isin(["TIMEOUT", "MODEL_ERROR"]).mean()
    fallbacks = (ours["status"] == "FALLBACK_RULES").mean()
    assert metrics[("*", "error_rate")] == pytest.approx(errors, abs=1e-6)
    assert metrics[("*", "fallback_rate")] == pytest.approx(fallbacks, abs=1e-6)
    assert fallbacks > errors > 0  # FALLBACK_RULES no longer counts as an error


def test_fallback_statuses_without_a_status_column_are_a_config_error(tmp_path):
    text = _monitors("on").replace("        status: status\n", "")
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert "source.fallback_statuses: fallback_statuses are values of the status column" in str(
        raised.value
    )
