"""Prefect's temporary local API (no PREFECT_API_URL): every command that runs a flow gives it
Lookout's longer start-up wait, and a start that still fails is one line saying what to do,
not a traceback (a trial's two backfills started at once: one died in Prefect's start-up)."""

from __future__ import annotations

import os

import pytest
from tests.conftest import MONITOR_YAML, PROFILES_YAML
from typer.testing import CliRunner

from lookout.cli import app
from lookout.cli.common import telemetry_off, temporary_api_failed

WAIT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def test_every_command_that_runs_a_flow_waits_longer_for_the_temporary_api(monkeypatch):
    monkeypatch.delenv(WAIT, raising=False)
    telemetry_off()  # what backfill, run and every Prefect command call first
    assert os.environ[WAIT] == "90"
    monkeypatch.setenv(WAIT, "300")  # a user's own wait is kept
    telemetry_off()
    assert os.environ[WAIT] == "300"


def test_a_temporary_api_that_did_not_start_is_one_line_saying_what_to_do():
    said = temporary_api_failed(
        RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")
    )
    assert said is not None and "\n" not in said
    assert said.startswith("Timed out while attempting to connect to ephemeral Prefect API server")
    assert "PREFECT_API_URL" in said and "one after the other" in said
    assert temporary_api_failed(RuntimeError("something else")) is None
    assert temporary_api_failed(ValueError("ephemeral Prefect API server")) is None


@pytest.mark.parametrize("command", ["run", "backfill"])
def test_the_commands_say_it_instead_of_a_traceback(command, monkeypatch, tmp_path):
    """`lookout run` and `lookout backfill` with Prefect's start-up failing: exit 1 and the
    line, through the real CLI (the flow call is what fails)."""
    (tmp_path / "monitors.yml").write_text(
        MONITOR_YAML.format(table="app_requests", schema_line="", pushdown="auto", threshold=0.9)
    )
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse=f"duckdb:///{tmp_path / 'wh.duckdb'}",
            store=f"sqlite:///{tmp_path / 'results.sqlite'}",
            out_dir=tmp_path / "out",
        )
    )

    def refuse(*args, **kwargs):
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    if command == "run":
        monkeypatch.setattr("lookout.flows.hourly.hourly", refuse)
        args = ["run"]
    else:
        monkeypatch.setattr("lookout.flows.backfill.build_backfill_flow", lambda names: refuse)
        args = ["backfill", "--start", "2026-11-02", "--end", "2026-11-03"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Prefect's temporary local API did not start" in result.output
    assert "Traceback" not in result.output
