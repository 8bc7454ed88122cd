"""Bad command-line values exit 2 with a message naming what is accepted, before any work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.cli import app

PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///{dir}/wh.duckdb"}
    store: {url: "sqlite:///{dir}/results.sqlite"}
    out_dir: "{dir}/out"
"""

MONITORS = """\
owners:
  team: {slack_users: [U0TEAM01]}
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: pv}
      cohorts: [region]
    rules:
      - {name: a, metric: error_rate, op: ">", threshold: 0.1, owner: team}
  - name: search
    source:
      table: queries
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: pv}
"""


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    (tmp_path / "profiles.yml").write_text(PROFILES.replace("{dir}", str(tmp_path)))
    (tmp_path / "monitors.yml").write_text(MONITORS)
    (tmp_path / "gate.yml").write_text("conditions:\n  - {metric: error_rate, max_worse: 0.02}\n")
    return [
        "--profiles",
        str(tmp_path / "profiles.yml"),
        "--monitors",
        str(tmp_path / "monitors.yml"),
    ]


def _run(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _flat(output: str) -> str:
    """Typer's error panel without its frame and line breaks."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--monitor", "nope"],
        ["run", "--monitor", "bot", "--monitor", "nope"],
        ["reports", "build", "--monitor", "nope", "--day", "2026-11-02"],
        ["compare", "--monitor", "nope", "--baseline", "a", "--candidate", "b"],
        ["gate", "--monitor", "nope", "--candidate", "b", "--policy", "{gate}"],
    ],
)
def test_an_unknown_monitor_exits_2_with_the_known_names(files, tmp_path, command):
    args = [part.replace("{gate}", str(tmp_path / "gate.yml")) for part in command]
    result = _run([*args, *files])
    assert result.exit_code == 2, result.output
    assert "unknown monitor 'nope' (known: bot, search)" in result.output
    # refused before any work: no results store, no reports folder
    assert not (tmp_path / "results.sqlite").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "--baseline", "a", "--candidate", "b"],
        ["gate", "--candidate", "b", "--policy", "{gate}"],
    ],
)
def test_a_monitor_left_out_among_several_exits_2_naming_them(files, tmp_path, command):
    args = [part.replace("{gate}", str(tmp_path / "gate.yml")) for part in command]
    result = _run([*args, *files])
    assert result.exit_code == 2, result.output
    assert "several monitors (bot, search): choose one with --monitor" in _flat(result.output)


def test_an_unknown_cohort_exits_2_with_the_known_ones(files, tmp_path):
    result = _run(
        [
            "compare",
            "--monitor",
            "bot",
            "--baseline",
            "a",
            "--candidate",
            "b",
            "--cohort",
            "regoin",
            *files,
        ]
    )
    assert result.exit_code == 2, result.output
    assert "unknown cohort 'regoin' (known: region)" in result.output
    assert not (tmp_path / "results.sqlite").exists()


def test_alerts_state_is_a_choice(files):
    result = _run(["alerts", "--state", "bogus", *files])
    assert result.exit_code == 2, result.output
    assert "'bogus' is not one of 'firing', 'resolved', 'all'" in _flat(result.output)


def test_alerts_state_all_lists_every_state_and_says_which(files, tmp_path):
    """`--state all` lists pending and inactive alerts too (breached, never sent), so each row
    says its state: an alert that was never paged must not read as one that fired."""
    from datetime import UTC, datetime

    from lookout.model.alerts import AlertState, Transition
    from lookout.store import alert_rows
    from lookout.store.results import ResultsStore
    from lookout.windows import Window

    store = ResultsStore(f"sqlite:///{tmp_path}/results.sqlite")
    empty = _run(["alerts", "--state", "all", *files])
    assert empty.exit_code == 0 and "Alerts in every state: 0" in empty.output
    at = datetime(2026, 12, 3, 14, tzinfo=UTC)
    window = Window(at, at.replace(hour=15))
    transitions = [
        Transition(
            "opened",
            AlertState(
                f"{state:0<8}",
                "bot",
                "a",
                "m1@p1",
                f"region={state}",
                "error_rate",
                "P1",
                "team",
                state,
                ">",
                0.05,
                0.1385 if state in ("firing", "pending") else 0.0137,
                65,
                at,
                at,
                at,
                at,
            ),
            window,
        )
        for state in ("firing", "pending", "inactive", "resolved")
    ]
    with store.engine.begin() as conn:
        alert_rows.apply_transitions(conn, transitions)
    store.dispose()
    listed = _run(["alerts", "--state", "all", *files])
    assert listed.exit_code == 0, listed.output
    assert "Alerts in every state: 4" in listed.output, listed.output
    table = [line for line in listed.output.splitlines() if "runbook" not in line]
    rows = {line.split()[0]: line.split() for line in table if " · " in line}
    for state in ("firing", "pending", "inactive", "resolved"):
        assert rows[f"{state:0<8}"][1:3] == ["P1", state], listed.output
    # a value back under its limit does not read as a breach
    assert rows["firing00"][-5:-2] == ["13.85%", ">", "5.00%"], listed.output
    assert rows["resolved"][-6:-2] == ["1.37%", "(fires", ">", "5.00%)"], listed.output
    firing = _run(["alerts", *files])  # the default: firing only, no state column needed
    assert "Alerts firing: 1" in firing.output and "pending" not in firing.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-usd", "nan", "'--max-usd': Input should be greater than or equal to 0"),
        ("--max-usd", "inf", "'--max-usd': inf is not a finite number"),
        ("--max-usd", "-1", "'--max-usd': Input should be greater than or equal to 0"),
        ("--threshold", "nan", "'--threshold': Input should be less than or equal to 1"),
        ("--threshold", "1.5", "'--threshold': Input should be less than or equal to 1"),
        ("--max-judgments", "-1", "'--max-judgments': Input should be greater than or equal to 0"),
        ("--concurrency", "0", "'--concurrency': Input should be greater than or equal to 1"),
    ],
)
def test_eval_numbers_are_checked(tmp_path, option, value, message):
    records = tmp_path / "in.jsonl"
    records.write_text('{"record_id": "1", "output": "hi"}\n')
    out = tmp_path / "out.jsonl"
    result = _run(
        ["eval", "--input", str(records), "--output", str(out), "--evaluator", "pii", option, value]
    )
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert not out.exists()


def test_compare_min_n_and_serve_port_are_ranges(files):
    result = _run(
        [
            "compare",
            "--monitor",
            "bot",
            "--baseline",
            "a",
            "--candidate",
            "b",
            "--min-n",
            "0",
            *files,
        ]
    )
    assert result.exit_code == 2
    assert "'--min-n': Input should be greater than or equal to 1" in _flat(result.output)
    result = _run(["reports", "serve", "--port", "70000", "--dir", "."])
    assert result.exit_code == 2
    assert "'--port': Input should be less than or equal to 65535" in _flat(result.output)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("target: dev", "target: [a, b]", "profiles.yml:1:1: target: expected the name of one of "),
        (
            "threshold: 0.1",
            "threshold: .nan",
            "monitors.yml:10:48: monitors[0].rules[0].threshold: expected a finite number",
        ),
    ],
)
def test_validate_config_refuses_with_exit_2(files, tmp_path, old, new, message):
    name = "profiles.yml" if old.startswith("target") else "monitors.yml"
    path = tmp_path / name
    path.write_text(path.read_text().replace(old, new, 1))
    result = _run(["validate-config", *files])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["serve", "deploy", "automations"])
def test_serve_and_deploy_without_a_prefect_api_refuse_and_start_no_server(
    files, monkeypatch, command
):
    """`lookout serve` without PREFECT_API_URL started a temporary Prefect server ("Starting
    temporary server on http://127.0.0.1:8091") and said to `prefect deployment run` from
    another shell, which would reach another temporary server. It refuses as deploy does, and
    so does `lookout automations` (its automations would be made on that temporary server)."""
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def started(*args, **kwargs):
        raise AssertionError("a Prefect server was started, or deployments served")

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(prefect, "serve", started)
    monkeypatch.setattr(SubprocessASGIServer, "start", started)
    # the settings Prefect read at import (a session's test API among them) say the same
    args = ["--block", "slack-webhook/oncall"] if command == "automations" else files
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = _run([command, *args])
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    what = "automations" if command == "automations" else "deployments"
    assert f"error: PREFECT_API_URL is not set: {what} need a Prefect server" in line
    assert "prefect server start" in line and "temporary server" not in line.lower()
