"""`validate-config --check-warehouse` checks every mapped column's type against its role and
every configured value against its column, on real DuckDB, SQLite and PostgreSQL, reporting
every problem at once with its key path; a run refuses the same config before it reads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML, T0, write_table
from tests.window_results import check_refusal
from typer.testing import CliRunner

from lookout.cli import app

N = 6

BAD = """
owners:
  team: {{slack_users: [U0TEAM01], channel: "#team"}}
monitors:
  - name: bot
    source:
      table: app_requests
{schema_line}      columns:
        record_id: request_id
        ts: event_time
        ingested_at: logged_day
        latency_ms: created_at
        status: status
        feedback: thumbs_up
        is_fallback: fallback_word
      release: [model_name, app_version, build]
      ok_statuses: [200, "abc", 201]
      negative_feedback: [-1]
    validation:
      statuses: [200, "2xx"]
    rules:
      - {{name: errors, metric: error_rate, op: ">", threshold: 0.5, owner: team}}
"""

EXPECTED = [
    "monitors[0].source.columns.ingested_at: column 'logged_day' is VARCHAR; this role "
    "needs a timestamp (text compares as text, not as time: map a view that casts it, e.g. "
    "CREATE VIEW app_requests_typed AS SELECT *, CAST(logged_day AS TIMESTAMP) AS "
    "logged_day_ts FROM app_requests, then table: app_requests_typed and the field: "
    "logged_day_ts)",
    "monitors[0].source.columns.latency_ms: column 'created_at' is TIMESTAMP",
    "this role needs a number (or text holding numbers)",
    "monitors[0].source.columns.is_fallback: column 'fallback_word' is VARCHAR; this role "
    "needs boolean or integer (0/1)",
    "monitors[0].source.release[2]: column 'build' is not in table 'app_requests'",
    'monitors[0].source.ok_statuses[1]: "abc" is not an integer (the column holds integers)',
    "monitors[0].source.negative_feedback[0]: -1 is not true or false (the column holds booleans)",
    "monitors[0].source.negative_feedback: none of -1 can be a value of boolean column "
    "'thumbs_up'; list its values (e.g. [false])",
    'monitors[0].validation.statuses[1]: "2xx" is not an integer',
]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(N)],
            "event_time": [(T0 + timedelta(minutes=i)).replace(tzinfo=None) for i in range(N)],
            "logged_day": ["2026-11-02"] * N,
            "created_at": [(T0 + timedelta(minutes=i)).replace(tzinfo=None) for i in range(N)],
            "status": [200, 201, 500, 200, 200, 404],
            "thumbs_up": [True, False, True, None, True, False],
            "fallback_word": ["no"] * N,
            "model_name": ["gpt"] * N,
            "app_version": [3] * N,
        }
    )


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("pg_schema")
    else:
        suffix = "duckdb" if request.param == "duckdb" else "sqlite"
        url, schema = f"{request.param}:///{tmp_path / ('wh.' + suffix)}", None
    engine = sa.create_engine(url)
    write_table(engine, _frame(), schema=schema)
    engine.dispose()
    (tmp_path / "monitors.yml").write_text(
        BAD.format(schema_line=f"      schema: {schema}\n" if schema else "")
    )
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store="sqlite://", out_dir=tmp_path / "out")
    )
    return tmp_path, request.param


def test_check_warehouse_names_every_type_problem_with_its_key_path_in_one_pass(project):
    folder, dialect = project
    files = ["--profiles", str(folder / "profiles.yml"), "--monitors", str(folder / "monitors.yml")]
    runner = CliRunner()
    assert runner.invoke(app, ["validate-config", *files]).exit_code == 0  # no table needed
    result = runner.invoke(app, ["validate-config", *files, "--check-warehouse"])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())  # rich may wrap long lines
    # the reflected types, as each backend names the types pandas and DuckDB created
    types = {"postgresql": ("TEXT", "TIMESTAMP"), "sqlite": ("TEXT", "DATETIME")}
    text, timestamp = types.get(dialect, ("VARCHAR", "TIMESTAMP"))
    for line in EXPECTED:
        line = line.replace("VARCHAR", text).replace("TIMESTAMP", timestamp)
        if dialect == "sqlite" and "ingested_at" in line:
            # SQLite keeps times as text (read with datetime()): a text time column is fine
            assert "columns.ingested_at" not in output
            continue
        assert line in output, (line, output)
    # what fits is not reported: the integer status, the text + integer release columns
    assert "columns.status:" not in output and "release[0]" not in output
    assert "release[1]" not in output and "columns.ts:" not in output
    assert "Traceback" not in result.output


def test_a_run_refuses_the_same_config_before_it_reads(project):
    folder, dialect = project
    refusal = check_refusal(folder)
    assert 'monitors[0].source.ok_statuses[1]: "abc" is not an integer' in refusal
    expected = len(EXPECTED) - 1 - (dialect == "sqlite")  # latency: one line; SQLite: text ts
    assert len(refusal.splitlines()) == expected


def test_defaults_that_fit_no_value_of_the_column_are_refused_too(tmp_path):
    """An integer status with the default ok_statuses ([ok, success]) would make every record
    an error, a boolean thumbs column with the default negative_feedback none negative."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, _frame())
    engine.dispose()
    monitors = BAD.format(schema_line="")
    for line in (
        "        ingested_at: logged_day\n",
        "        latency_ms: created_at\n",
        "        is_fallback: fallback_word\n",
        '      ok_statuses: [200, "abc", 201]\n',
        "      negative_feedback: [-1]\n",
        '    validation:\n      statuses: [200, "2xx"]\n',
    ):
        assert line in monitors
        monitors = monitors.replace(line, "")
    monitors = monitors.replace("app_version, build]", "app_version]")
    (tmp_path / "monitors.yml").write_text(monitors)
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store="sqlite://", out_dir=tmp_path / "out")
    )
    assert check_refusal(tmp_path, url).splitlines() == [
        'monitors.yml: monitors[0].source.ok_statuses: none of "ok", "success" (the default) '
        "can be a value of integer column 'status'; list its values (e.g. [200, 201])",
        'monitors.yml: monitors[0].source.negative_feedback: none of "thumbs_down", "negative", '
        "\"-1\" (the default) can be a value of boolean column 'thumbs_up'; list its values "
        "(e.g. [false])",
    ]
