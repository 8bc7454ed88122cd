"""`lookout init` on status columns whose ok values it cannot tell (an application's own integer
codes, 0/1 mostly 1, one-letter text codes): it says so in its output and above the
`ok_statuses` it leaves unset in monitors.yml, naming the column, the values it saw and the key
to set, instead of writing a config whose error rate reads 100%. Codes it can tell (HTTP 2xx,
gRPC-style 0 when 0 is most of them) are still proposed without a word."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import write_table
from tests.fixtures.init_tables import END
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors

ROWS = 600


def _log(outcome: np.ndarray) -> pd.DataFrame:
    """A day of requests whose status column (`outcome`) holds `outcome`."""
    rng = np.random.default_rng(3)
    start = pd.Timestamp(END.replace(tzinfo=None)) - timedelta(days=1)
    return pd.DataFrame(
        {
            "request_id": [f"r{i:05d}" for i in range(ROWS)],
            "created": start + pd.to_timedelta(np.sort(rng.uniform(0, 86_000, ROWS)), unit="s"),
            "outcome": outcome,
            "duration_ms": rng.lognormal(6, 0.4, ROWS).round(1),
        }
    )


def _mostly(first, second, share: float = 0.9) -> np.ndarray:
    return np.where(np.arange(ROWS) % 10 < round(share * 10), first, second)


CASES = {
    # name: (outcome values, the values the warning names)
    "letters": (_mostly("S", "F"), "S (90%), F (10%)"),
    "app_codes": (
        np.array([1000] * 7 + [1001] * 2 + [1002])[np.arange(ROWS) % 10],
        "1000 (70%), 1001 (20%), 1002 (10%)",
    ),
    "one_is_ok": (_mostly(1, 0), "1 (90%), 0 (10%)"),
}


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "duckdb"])
def warehouse(request, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(URL, schema) of an empty warehouse: a PostgreSQL schema, or a DuckDB file."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_schema")
    else:
        yield f"duckdb:///{tmp_path / 'wh.duckdb'}", None


def _init(tmp_path: Path, url: str, schema: str | None, frame: pd.DataFrame, name: str):
    engine = sa.create_engine(url)
    write_table(engine, frame, table=name, schema=schema)
    engine.dispose()
    cfg = tmp_path / name
    args = ["init", "--table", f"{schema}.{name}" if schema else name, "--yes"]
    args += ["--warehouse-url", url, "--profiles", str(cfg / "profiles.yml")]
    args += ["--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split()), cfg / "monitors.yml"


@pytest.mark.parametrize("case", list(CASES))
def test_status_values_init_cannot_tell_are_said_in_the_output_and_the_file(
    tmp_path, warehouse, case
):
    url, schema = warehouse
    values, seen = CASES[case]
    output, monitors = _init(tmp_path, url, schema, _log(values), case)
    warning = (
        "warning: init cannot tell which values of outcome (the status column) mean ok; "
        f"the sample holds {seen}. List those that mean ok in source.ok_statuses"
    )
    assert warning in output, output
    numeric = case != "letters"
    meanwhile = (
        "validate-config and every run refuse it"
        if numeric
        else "every record counts as an error (error_rate 100%)"
    )
    assert meanwhile in output
    assert "before running: set ok_statuses in" in output
    text = monitors.read_text()
    block = " ".join(
        line.strip().removeprefix("# ") for line in text.splitlines() if line.startswith("      #")
    )
    assert "SET ok_statuses: init cannot tell which values of outcome" in block
    assert seen in block and meanwhile in block
    monitor = load_monitors(monitors).monitors[0]
    assert monitor.source.columns["status"] == "outcome"
    assert "ok_statuses" not in monitor.source.model_fields_set  # nothing guessed
    assert "error_rate" not in {rule.metric for rule in monitor.rules}


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        (_mostly(0, 14), ["0"]),  # gRPC-style: 0 is OK, and most requests are
        (_mostly(200, 503), [str(code) for code in range(200, 207)]),  # integer HTTP codes
        (_mostly("success", "failure"), ["success"]),
    ],
)
def test_status_values_init_can_tell_are_proposed_without_a_warning(tmp_path, values, ok):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    output, monitors = _init(tmp_path, url, None, _log(values), "log")
    assert "warning:" not in output and "SET ok_statuses" not in monitors.read_text()
    assert [str(v) for v in load_monitors(monitors).monitors[0].source.ok_statuses] == ok


def _enum_status(url: str, schema: str | None, table: str) -> None:
    """`outcome` as the database's own ENUM type (PostgreSQL, DuckDB)."""
    prefix = f"{schema}." if schema else ""
    values = "'ok', 'error', 'timeout'"
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(f"CREATE TYPE {prefix}chat_outcome AS ENUM ({values})")
        cast = f"outcome::{prefix}chat_outcome" if url.startswith("postgresql") else "outcome"
        conn.exec_driver_sql(
            f"ALTER TABLE {prefix}{table} ALTER COLUMN outcome "
            f"TYPE {prefix}chat_outcome USING {cast}"
        )


def test_an_enum_status_and_a_channel_left_null_on_the_errors(tmp_path, warehouse):
    """Trial K's table: the status is an ENUM type (init read it with substr, which PostgreSQL
    has not for an ENUM: init failed), and `channel` is NULL on every failed record, so
    `channel=(null)` failed 37-64% of its records and its error alert fired for a week. The
    error rules are not split by channel (with a note); the other rules still are."""
    url, schema = warehouse
    rng = np.random.default_rng(5)
    failed = rng.random(ROWS) < 0.04
    frame = _log(np.where(failed, np.where(rng.random(ROWS) < 0.5, "error", "timeout"), "ok"))
    channel = rng.choice(np.array(["web", "slack", "api"], dtype=object), ROWS, p=[0.6, 0.3, 0.1])
    frame["channel"] = np.where(failed | (rng.random(ROWS) < 0.02), None, channel)
    frame["cost_usd"] = rng.uniform(0.001, 0.003, ROWS).round(6)
    engine = sa.create_engine(url)
    write_table(engine, frame, table="chat_log", schema=schema)
    engine.dispose()
    _enum_status(url, schema, "chat_log")
    cfg = tmp_path / "cfg"
    args = ["init", "--table", f"{schema}.chat_log" if schema else "chat_log", "--yes"]
    args += ["--warehouse-url", url, "--profiles", str(cfg / "profiles.yml")]
    args += ["--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "the error rules are not split by channel: it is NULL on 100% of the sampled errors" in (
        output
    )
    [monitor] = load_monitors(cfg / "monitors.yml").monitors
    assert monitor.source.ok_statuses == ["ok"]
    assert "channel" in monitor.source.cohorts
    rules = {rule.name: rule for rule in monitor.rules}
    assert rules["error_rate"].split_by == ["*"]
    assert "error_rate_vs_own_history" not in rules  # channel was its only cohort
    assert rules["spend_vs_own_history"].split_by == ["*", "channel"]
