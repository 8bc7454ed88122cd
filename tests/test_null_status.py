"""A table whose status column is an error column, NULL when the request succeeded and the
error when it failed (`source.null_status: ok`): the window stores what the same records with
an ok/error status store, in SQL and in pandas, on every engine. Without the key, NULL stays
an unknown status (today's reading), so every logged error is a rate of 100%."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_tables
from tests.window_results import engine_url, project, stored_by_window

from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
ERRORS = np.array(["upstream timeout (504)", "rate limited: 429", "context_length_exceeded"])


def _monitors(table: str, pushdown: str, extra: str = "") -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown=pushdown, threshold=0.2)
    return text.replace("      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + extra)


def _tables(url: str):
    plain = make_requests()
    logged = plain.copy()
    failed = logged["status"] == "error"
    logged["status"] = None
    logged.loc[failed, "status"] = ERRORS[np.arange(failed.sum()) % len(ERRORS)]
    logged["status"] = logged["status"].astype(object)
    write_tables(url, with_status=plain, with_errors=logged)
    return plain


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_an_error_column_null_on_success_stores_what_an_ok_error_status_stores(
    engine_name, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    plain = _tables(url)
    pushdown = "auto" if engine_name == "sqlite" else "on"
    expected = stored_by_window(
        project(tmp_path, url, "status", _monitors("with_status", pushdown)), WINDOW
    )
    errors = _monitors("with_errors", pushdown, "      null_status: ok\n")
    assert stored_by_window(project(tmp_path, url, "errors", errors), WINDOW) == expected
    rates = {r[0]: r[3] for r in expected["metrics"] if r[1] == "*" and r[2] == "error_rate"}
    in_window = plain[
        plain["event_time"].between(
            WINDOW.start.replace(tzinfo=None), WINDOW.end.replace(tzinfo=None), inclusive="left"
        )
    ]
    for (model, prompt), part in in_window.groupby(["model_version", "prompt_version"]):
        assert rates[f"{model}@{prompt}"] == pytest.approx(
            (part["status"] == "error").mean(), abs=1e-6
        )
    assert min(rates.values()) > 0


@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_without_the_key_a_null_status_is_unknown(tmp_path, pushdown):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    _tables(url)
    stored = stored_by_window(
        project(tmp_path, url, "errors", _monitors("with_errors", pushdown)), WINDOW
    )
    rates = {r[0]: r[3] for r in stored["metrics"] if r[1] == "*" and r[2] == "error_rate"}
    assert set(rates.values()) == {1.0}  # only the failures have a status: all are errors


@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_a_fallback_said_in_an_error_column_is_a_share_of_every_request(tmp_path, pushdown):
    """`fallback_statuses` read from such a column: a NULL (a success) is no fallback, so the
    fallback rate is over every request, not over the failed ones."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    plain = _tables(url)
    extra = "      null_status: ok\n      fallback_statuses: ['rate limited: 429']\n"
    text = _monitors("with_errors", pushdown, extra).replace(
        "        is_fallback: is_fallback\n", ""
    )
    stored = stored_by_window(project(tmp_path, url, "errors", text), WINDOW)
    rates = {
        r[0]: (r[3], r[4]) for r in stored["metrics"] if r[1] == "*" and r[2] == "fallback_rate"
    }
    in_window = plain[
        plain["event_time"].between(
            WINDOW.start.replace(tzinfo=None), WINDOW.end.replace(tzinfo=None), inclusive="left"
        )
    ]
    failed = (plain["status"] == "error").cumsum() - 1  # which message each failure logged
    said = (plain["status"] == "error") & (failed % len(ERRORS) == 1)
    for (model, prompt), part in in_window.groupby(["model_version", "prompt_version"]):
        value, n = rates[f"{model}@{prompt}"]
        assert n == len(part)
        assert value == pytest.approx(said[part.index].mean(), abs=1e-6)
