"""Config errors name the file, the key path and the line; hostile identifiers are rejected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.fixtures.fake_secrets import PROFILE_SLACK_TOKEN
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config, load_monitors, load_profiles
from lookout.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD_MONITORS = """\
owners:
  team: {slack_users: [U0TEAM01], channel: "#team"}
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: prompt_v}
      cohorts: [region]
    rules:
      - {name: a, metric: error_rate, op: ">", threshold: 0.1, owner: team}
      - {name: b, metric: latency_p99_ms, op: ">", threshold: 900, owner: team}
      - name: c
        metric: error_rate
        op: ">"
        threshold: high
        owner: team
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _issues(call) -> list[str]:
    with pytest.raises(ConfigError) as info:
        call()
    return [str(issue) for issue in info.value.issues]


def test_the_shipped_config_files_are_valid():
    config = load_config(ROOT / "profiles.yml", ROOT / "monitors.yml", environ={})
    assert config.monitors.monitors[0].name == "support_bot"
    assert config.target.slack.enabled is False


def test_wrong_type_names_file_line_and_key_path(tmp_path):
    path = _write(tmp_path, "monitors.yml", GOOD_MONITORS)
    assert _issues(lambda: load_monitors(path)) == [
        "monitors.yml:15:9: monitors[0].rules[2].threshold: expected a number"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "table: requests",
            "table: requests; DROP TABLE x",
            "monitors[0].source.table: 'requests; DROP TABLE x' is not a plain SQL identifier",
        ),
        ("ts: created_at", 'ts: "created_at\\" --"', "monitors[0].source.columns.ts: "),
        ("cohorts: [region]", 'cohorts: ["region) OR 1=1"]', "monitors[0].source.cohorts[0]: "),
        ("name: bot", "name: bot-1", "monitors[0].name: 'bot-1' is not a plain SQL identifier"),
        (
            "metric: error_rate, op",
            "metric: eror_rate, op",
            "monitors[0].rules[0].metric: unknown metric 'eror_rate'",
        ),
        (
            "metric: error_rate, op",
            "metric: drift.context, op",
            "monitors[0].rules[0].metric: drift compares no 'context' here; known: drift.region",
        ),
        (
            "metric: error_rate, op",
            "metric: drift_score.bogus, op",
            "monitors[0].rules[0].metric: drift compares no 'bogus' here; known: "
            "drift_score.region",
        ),
        (
            "owner: team}\n      - {name: b",
            "owner: nobody}\n      - {name: b",
            "monitors[0].rules[0].owner: unknown owner 'nobody' (owners: team)",
        ),
        ('op: ">", threshold: 0.1', 'op: "=>", threshold: 0.1', "monitors[0].rules[0].op: "),
        (
            "model_version: model,",
            "model_versoin: model,",
            "monitors[0].source.columns: 'model_versoin' is not a canonical field",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n      release: [model_version, route]",
            "monitors[0].source.release[1]: release field 'route' is a canonical field but is "
            "not mapped",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n      units: {prompt_tokens: s}",
            "monitors[0].source.units.prompt_tokens: 'prompt_tokens' takes no unit: units "
            "apply to latency_ms, ttft_ms (s, ms, us, ns), cost_usd (usd, cents, micro_usd, "
            "nano_usd) and ts, ingested_at (epoch_s, epoch_ms, epoch_us, epoch_ns)",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n      units: {ttft_ms: s}",
            "monitors[0].source.units.ttft_ms: 'ttft_ms' has a unit but is not mapped in "
            "source.columns",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n    evaluators: {checks: [{name: groundednes}]}",
            "monitors[0].evaluators.checks[0]: unknown offline evaluator 'groundednes'",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n    evaluators:\n      checks: [{name: pii, params: {colour: 1}}]",
            "monitors[0].evaluators.checks[0]: offline evaluator 'pii': unknown "
            "parameter(s) colour",
        ),
        (
            "cohorts: [region]",
            "cohorts: [region]\n    evaluators: {checks: [{name: j, kind: llm, evaluator: x}]}",
            "monitors[0].evaluators.checks[0]: unknown judge template 'x'",
        ),
    ],
)
def test_bad_values_are_reported_with_their_key_path(tmp_path, old, new, expected):
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5")
    assert old in text
    path = _write(tmp_path, "monitors.yml", text.replace(old, new, 1))
    issues = _issues(lambda: load_monitors(path))
    assert any(expected in issue for issue in issues), issues
    assert all(issue.startswith("monitors.yml:") for issue in issues)


def test_an_unknown_unit_names_its_line_and_the_known_ones(tmp_path):
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5").replace(
        "prompt_version: prompt_v}",
        "prompt_version: prompt_v, latency_ms: duration_s}\n      units:\n"
        "        latency_ms: seconds",
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issues == [
        "monitors.yml:9:9: monitors[0].source.units.latency_ms: unknown unit 'seconds'; "
        "known: s, ms, us, ns"
    ]
    fixed = _write(tmp_path, "monitors.yml", text.replace("latency_ms: seconds", "latency_ms: s"))
    assert load_monitors(fixed).monitors[0].source.unit("latency_ms") == "s"


def test_a_cost_unit_on_a_duration_and_a_duration_unit_on_the_cost_name_their_lines(tmp_path):
    """`latency_ms: micro_usd` would divide milliseconds by a million, `cost_usd: s` multiply
    dollars by 1000: each is refused at its own key, saying which units the field takes."""
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5").replace(
        "prompt_version: prompt_v}",
        "prompt_version: prompt_v, latency_ms: duration_s, cost_usd: cost_micro_usd}\n"
        "      units:\n        latency_ms: micro_usd\n        cost_usd: s",
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issues == [
        "monitors.yml:9:9: monitors[0].source.units.latency_ms: 'micro_usd' is a cost unit; "
        "latency_ms is a duration, read in milliseconds: its column may log s, ms, us or ns",
        "monitors.yml:10:9: monitors[0].source.units.cost_usd: 's' is a duration unit; "
        "cost_usd is a cost, read in US dollars: its column may log usd, cents, micro_usd or "
        "nano_usd",
    ]
    unknown = _write(tmp_path, "monitors.yml", text.replace("cost_usd: s", "cost_usd: millicents"))
    assert _issues(lambda: load_monitors(unknown))[1] == (
        "monitors.yml:10:9: monitors[0].source.units.cost_usd: unknown unit 'millicents'; "
        "known: usd, cents, micro_usd, nano_usd"
    )
    fixed = text.replace("latency_ms: micro_usd", "latency_ms: s").replace(
        "cost_usd: s", "cost_usd: micro_usd"
    )
    source = load_monitors(_write(tmp_path, "monitors.yml", fixed)).monitors[0].source
    assert (source.unit("latency_ms"), source.unit("cost_usd")) == ("s", "micro_usd")
    assert source.unit("ttft_ms") == "ms" and source.unit("prompt_tokens") is None


def test_an_epoch_unit_is_a_time_unit_refused_on_other_fields_at_its_line(tmp_path):
    """`ts: epoch_ms` reads a BIGINT of Unix milliseconds as the event time; a time unit on a
    duration, a duration unit on the time, an unknown epoch and a unit on an unmapped
    `ingested_at` are each refused at their own key and line."""
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5").replace(
        "prompt_version: prompt_v}",
        "prompt_version: prompt_v, latency_ms: duration}\n"
        "      units:\n        ts: s\n        latency_ms: epoch_ms\n"
        "        ingested_at: epoch_ps",
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issues == [
        "monitors.yml:9:9: monitors[0].source.units.ts: 's' is a duration unit; ts is a time, "
        "read as UTC timestamps: its column may log epoch_s, epoch_ms, epoch_us or epoch_ns",
        "monitors.yml:10:9: monitors[0].source.units.latency_ms: 'epoch_ms' is a time unit; "
        "latency_ms is a duration, read in milliseconds: its column may log s, ms, us or ns",
        "monitors.yml:11:9: monitors[0].source.units.ingested_at: unknown unit 'epoch_ps'; "
        "known: epoch_s, epoch_ms, epoch_us, epoch_ns",
    ]
    unmapped = (
        text.replace("ts: s", "ts: epoch_ms")
        .replace("latency_ms: epoch_ms", "latency_ms: s")
        .replace("epoch_ps", "epoch_s")
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", unmapped)))
    assert issues == [
        "monitors.yml:11:9: monitors[0].source.units.ingested_at: 'ingested_at' has a unit "
        "but is not mapped in source.columns"
    ]
    fixed = unmapped.replace("\n        ingested_at: epoch_s", "")
    source = load_monitors(_write(tmp_path, "monitors.yml", fixed)).monitors[0].source
    assert (source.epoch_unit("ts"), source.epoch_unit("latency_ms")) == ("epoch_ms", None)
    assert source.unit("ts") == "epoch_ms" and source.epoch_unit("ingested_at") is None


def test_unknown_key_and_missing_key(tmp_path):
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5").replace(
        "table: requests", "tabel: requests"
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert "monitors.yml:5:5: monitors[0].source.table: required key is missing" in issues
    assert "monitors.yml:6:7: monitors[0].source.tabel: unknown key (did you mean table?)" in issues


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (
            "      cohorts: [region]\n",
            "      cohorts: [region]\n      ok_status: [ok]\n",
            "monitors[0].source.ok_status: unknown key (did you mean ok_statuses?)",
        ),
        (
            'op: ">", threshold: 0.1',
            'opp: ">", op: ">", threshold: 0.1',
            "monitors[0].rules[0].opp: unknown key (did you mean op?)",
        ),
        (
            "    source:\n",
            "    sorce: {}\n    source:\n",
            "monitors[0].sorce: unknown key (did you mean source?)",
        ),
        (
            "      cohorts: [region]\n",
            "      cohorts: [region]\n      zzz: 1\n",
            "monitors[0].source.zzz: unknown key",
        ),
        (
            "    rules:\n",
            "    validation:\n      expectations:\n"
            "        - {kind: not_null, column: id, severty: critical}\n    rules:\n",
            "monitors[0].validation.expectations[0].severty: unknown key (did you mean severity?)",
        ),
    ],
    ids=["source key", "inside a list", "monitor key", "no near miss", "tagged union"],
)
def test_an_unknown_key_one_slip_from_a_known_one_is_named(tmp_path, before, after, said):
    """A key a user misspelt says which one it would be, among the keys of its own section
    (inside lists too); one that is no near miss says only that it is unknown."""
    text = GOOD_MONITORS.replace("threshold: high", "threshold: 0.5").replace(before, after, 1)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert next(i for i in issues if "unknown key" in i).endswith(said), issues


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = _write(tmp_path, "monitors.yml", "monitors:\n  - name: [unclosed\n")
    [issue] = _issues(lambda: load_monitors(path))
    assert issue.startswith("monitors.yml:3:1: YAML syntax error")


PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///{{ env_var('WH_DIR', '/tmp') }}/wh.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
    slack: {bot_token: "{{ env_var('SLACK_BOT_TOKEN') }}"}
  prod:
    warehouse: {url: "{{ env_var('PROD_WH') }}"}
    store: {url: "{{ env_var('PROD_STORE') }}"}
"""


def test_env_var_with_default_and_required(tmp_path):
    path = _write(tmp_path, "profiles.yml", PROFILES)
    target = load_profiles(path, environ={"SLACK_BOT_TOKEN": PROFILE_SLACK_TOKEN})
    assert target.warehouse.url.get_secret_value() == "duckdb:////tmp/wh.duckdb"
    assert target.slack.bot_token.get_secret_value() == PROFILE_SLACK_TOKEN
    assert PROFILE_SLACK_TOKEN not in repr(target)
    target = load_profiles(path, environ={"WH_DIR": "/data", "SLACK_BOT_TOKEN": "x"})
    assert target.warehouse.url.get_secret_value() == "duckdb:////data/wh.duckdb"
    [issue] = _issues(lambda: load_profiles(path, environ={}))
    assert issue.startswith(
        "profiles.yml:6:13: outputs.dev.slack.bot_token: "
        "environment variable SLACK_BOT_TOKEN is not set"
    )


def test_only_the_chosen_target_is_rendered(tmp_path):
    path = _write(tmp_path, "profiles.yml", PROFILES)
    # prod's env vars are unset, but dev is chosen: no error about them
    load_profiles(path, environ={"SLACK_BOT_TOKEN": "x"})
    issues = _issues(lambda: load_profiles(path, target="prod", environ={}))
    assert [i.split(": ")[1] for i in issues] == [
        "outputs.prod.warehouse.url",
        "outputs.prod.store.url",
    ]
    issues = _issues(lambda: load_profiles(path, target="staging", environ={}))
    assert "target 'staging' is not among outputs (dev, prod)" in issues[0]


def test_passwords_never_appear_in_errors_or_reprs(tmp_path):
    text = PROFILES.replace("sqlite:///results.sqlite", "postgresql://u:hunter2secret@db/x")
    target = load_profiles(_write(tmp_path, "profiles.yml", text), environ={"SLACK_BOT_TOKEN": "x"})
    assert "hunter2secret" not in repr(target)
    # a bare postgresql:// means psycopg 3, the driver of the postgres extra
    assert target.store.display_url == "postgresql+psycopg://u:***@db/x"


def test_validate_config_command(tmp_path):
    runner = CliRunner()
    good = runner.invoke(
        app,
        [
            "validate-config",
            "--profiles",
            str(ROOT / "profiles.yml"),
            "--monitors",
            str(ROOT / "monitors.yml"),
        ],
    )
    assert good.exit_code == 0, good.output
    assert "1 monitor(s) (support_bot)" in good.output
    bad = _write(tmp_path, "monitors.yml", GOOD_MONITORS)
    result = runner.invoke(
        app, ["validate-config", "--profiles", str(ROOT / "profiles.yml"), "--monitors", str(bad)]
    )
    assert result.exit_code == 2
    assert "monitors.yml:15:9: monitors[0].rules[2].threshold: expected a number" in result.output


def test_validate_config_can_check_columns_against_the_warehouse(tmp_path):
    import sqlalchemy as sa
    from tests.conftest import make_requests, write_config, write_table

    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, make_requests().drop(columns=["ttft_ms"]))
    engine.dispose()
    write_config(tmp_path / "cfg", warehouse=url, store="sqlite://")
    files = [
        "--profiles",
        str(tmp_path / "cfg" / "profiles.yml"),
        "--monitors",
        str(tmp_path / "cfg" / "monitors.yml"),
    ]
    runner = CliRunner()
    assert runner.invoke(app, ["validate-config", *files]).exit_code == 0
    result = runner.invoke(app, ["validate-config", *files, "--check-warehouse"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert re.search(
        r"cfg/monitors\.yml:\d+:\d+: monitors\[0\]\.source\.columns\.ttft_ms: column 'ttft_ms' "
        r"is not in table 'app_requests'",
        said,
    ), said


def test_a_password_in_the_query_is_masked_where_the_url_is_shown(tmp_path):
    """`?password=` (as MySQL and psycopg take it): SQLAlchemy's own masking only knows the
    user part, and `validate-config` printed this one in its `ok:` line."""
    text = PROFILES.replace(
        "sqlite:///results.sqlite", "postgresql://u@db/x?password=hunter2secret&sslmode=require"
    )
    target = load_profiles(_write(tmp_path, "profiles.yml", text), environ={"SLACK_BOT_TOKEN": "x"})
    assert target.store.display_url == "postgresql+psycopg://u@db/x?password=***&sslmode=require"


def test_a_password_with_an_unencoded_at_sign_is_refused_without_quoting_it(tmp_path):
    """The password would end at its first `@` and the rest be taken for the host: every
    connection error would then print that rest."""
    text = PROFILES.replace("sqlite:///results.sqlite", "postgresql://u:Zx@9Tq#Pw@db:5432/x")
    (issue,) = _issues(
        lambda: load_profiles(
            _write(tmp_path, "profiles.yml", text), environ={"SLACK_BOT_TOKEN": "x"}
        )
    )
    assert issue.startswith("profiles.yml:5:") and "outputs.dev.store.url" in issue
    assert "%40" in issue and "9Tq" not in issue and "Zx" not in issue
