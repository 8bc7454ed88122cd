"""Owner routes (email, PagerDuty) and their profile settings: good configs load, bad ones fail
at load with `file:line:col: key.path`, and secrets come from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fixtures.fake_secrets import FAKE_PD_ROUTING_KEY, FAKE_SMTP_PASSWORD

from lookout.config.loader import load_config, load_monitors, load_profiles
from lookout.errors import ConfigError

MONITORS = """\
owners:
  team:
    channel: "#team"
    email: {to: [oncall@example.com, ml-team@example.com]}
    pagerduty:
      routing_key: "{{ env_var('PD_KEY') }}"
      min_severity: P1
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: prompt_v}
    rules:
      - {name: a, metric: error_rate, op: ">", threshold: 0.1, owner: team}
"""

PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///wh.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
    email:
      host: smtp.example.com
      username: lookout
      password: "{{ env_var('SMTP_PASSWORD') }}"
      sender: lookout@example.com
    pagerduty: {events_url: "http://127.0.0.1:9/v2/enqueue", max_retries: 2}
  prod:
    warehouse: {url: "duckdb:///wh.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
"""

ENV = {"PD_KEY": FAKE_PD_ROUTING_KEY, "SMTP_PASSWORD": FAKE_SMTP_PASSWORD}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _issues(call) -> list[str]:
    with pytest.raises(ConfigError) as info:
        call()
    text = str(info.value)
    assert FAKE_PD_ROUTING_KEY not in text and FAKE_SMTP_PASSWORD not in text
    return [str(issue) for issue in info.value.issues]


def test_routes_and_targets_load_with_their_defaults(tmp_path):
    config = load_config(
        _write(tmp_path, "profiles.yml", PROFILES),
        _write(tmp_path, "monitors.yml", MONITORS),
        environ=ENV,
    )
    owner = config.monitors.owners["team"]
    assert owner.email is not None and owner.email.min_severity == "P1"
    assert owner.email.to == ["oncall@example.com", "ml-team@example.com"]
    assert owner.pagerduty is not None and owner.pagerduty.min_severity == "P1"
    assert owner.pagerduty.routing_key.get_secret_value() == FAKE_PD_ROUTING_KEY
    email = config.target.email
    assert email is not None and (email.port, email.starttls, email.timeout_s) == (587, True, 30)
    assert email.password is not None and email.password.get_secret_value() == FAKE_SMTP_PASSWORD
    assert config.target.pagerduty.max_retries == 2
    assert config.target.pagerduty.timeout_s == 10
    for shown in (repr(config.target), repr(config.monitors), str(config.monitors)):
        assert FAKE_PD_ROUTING_KEY not in shown and FAKE_SMTP_PASSWORD not in shown
    # the defaults: PagerDuty from P0, the real Events API endpoint
    bare = load_profiles(_write(tmp_path, "p2.yml", PROFILES), target="prod", environ={})
    assert bare.email is None
    assert bare.pagerduty.events_url == "https://events.pagerduty.com/v2/enqueue"
    text = MONITORS.replace("      min_severity: P1\n", "")
    monitors = load_monitors(_write(tmp_path, "m2.yml", text), environ=ENV)
    assert monitors.owners["team"].pagerduty.min_severity == "P0"


def test_a_routing_key_written_into_the_file_is_refused_with_its_position(tmp_path):
    text = MONITORS.replace("\"{{ env_var('PD_KEY') }}\"", FAKE_PD_ROUTING_KEY)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text), environ=ENV))
    assert issues == [
        "monitors.yml:6:7: owners.team.pagerduty.routing_key: a secret must come from the "
        "environment: write \"{{ env_var('NAME') }}\" here (a value written in the file ends "
        "up in git, and in every copy of it)"
    ]


@pytest.mark.parametrize(
    "value",
    [
        f"\"{{{{ env_var('PD_KEY', '{FAKE_PD_ROUTING_KEY}') }}}}\"",  # a default holds the key
        f"\"{FAKE_PD_ROUTING_KEY[:4]}{{{{ env_var('PD_KEY') }}}}\"",  # part of it in the file
        "12345678901234567890123456789012",  # a number is a literal too
    ],
)
def test_half_literal_keys_are_refused_too(tmp_path, value):
    text = MONITORS.replace("\"{{ env_var('PD_KEY') }}\"", value)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text), environ=ENV))
    assert [i.split(": ")[:2] for i in issues] == [
        ["monitors.yml:6:7", "owners.team.pagerduty.routing_key"]
    ]
    assert "a secret must come from the environment" in issues[0]


def test_an_smtp_password_in_the_file_is_refused_in_any_output(tmp_path):
    text = PROFILES.replace(
        "  prod:\n",
        f"  prod:\n    email: {{host: h, sender: a@example.com, username: u, "
        f"password: {FAKE_SMTP_PASSWORD}}}\n",
    )
    path = _write(tmp_path, "profiles.yml", text)
    # prod is not the chosen target, and its password is still refused
    issues = _issues(lambda: load_profiles(path, environ=ENV))
    assert issues == [
        "profiles.yml:13:58: outputs.prod.email.password: a secret must come from the "
        "environment: write \"{{ env_var('NAME') }}\" here (a value written in the file ends "
        "up in git, and in every copy of it)"
    ]
    # with an empty default (no password in this environment) it is no secret in the file
    text = PROFILES.replace("'SMTP_PASSWORD'", "'SMTP_PASSWORD', ''").replace(
        "username: lookout\n      ", ""
    )
    load_profiles(_write(tmp_path, "p2.yml", text), environ={})


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      min_severity: P1\n",
            "      min_severity: P3\n",
            "monitors.yml:7:7: owners.team.pagerduty.min_severity: Input should be 'P0', 'P1' "
            "or 'P2'",
        ),
        (
            '    channel: "#team"\n',
            '    channel: "#team"\n    teams: {webhook: x}\n',
            "monitors.yml:4:5: owners.team.teams: unknown route or key 'teams'; an owner has: "
            "slack_users, slack_group, channel, runbook_base, email, pagerduty",
        ),
        (
            "oncall@example.com,",
            '"oncall@example.com\\r\\nBcc: all@example.com",',
            "monitors.yml:4:18: owners.team.email.to[0]: expected an email address like "
            "oncall@example.com",
        ),
        (
            "oncall@example.com,",
            '"Oncall <oncall@example.com>",',
            "monitors.yml:4:18: owners.team.email.to[0]: expected an email address",
        ),
        (
            "email: {to: [oncall@example.com, ml-team@example.com]}",
            "email: {to: []}",
            "monitors.yml:4:13: owners.team.email.to: List should have at least 1 item",
        ),
    ],
)
def test_bad_routes_name_their_position(tmp_path, old, new, expected):
    assert old in MONITORS
    path = _write(tmp_path, "monitors.yml", MONITORS.replace(old, new, 1))
    issues = _issues(lambda: load_monitors(path, environ=ENV))
    assert any(issue.startswith(expected) for issue in issues), issues


def test_a_malformed_routing_key_from_the_environment_is_not_echoed(tmp_path):
    path = _write(tmp_path, "monitors.yml", MONITORS)
    issues = _issues(lambda: load_monitors(path, environ={"PD_KEY": "short-" + "x" * 20}))
    assert issues == [
        "monitors.yml:6:7: owners.team.pagerduty.routing_key: not a PagerDuty integration key "
        "(32 letters and digits)"
    ]
    assert "short-" not in issues[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      sender: lookout@example.com\n",
            "      sender: lookout@example.com\n      starttls: false\n",
            "profiles.yml:6:5: outputs.dev.email: a password is only sent over TLS: "
            "set starttls: true",
        ),
        (
            "      username: lookout\n",
            "",
            "profiles.yml:6:5: outputs.dev.email: username and password go together",
        ),
        (
            "      sender: lookout@example.com\n",
            "      sender: lookout@example.com\n      ca_file: /nonexistent/ca.pem\n",
            "profiles.yml:11:7: outputs.dev.email.ca_file: file not found: /nonexistent/ca.pem",
        ),
        (
            'events_url: "http://127.0.0.1:9/v2/enqueue"',
            'events_url: "ftp://example.com"',
            "profiles.yml:11:17: outputs.dev.pagerduty.events_url: expected an http(s) URL",
        ),
        (
            "      sender: lookout@example.com\n",
            "      sender: lookout\n",
            "profiles.yml:10:7: outputs.dev.email.sender: expected an email address",
        ),
    ],
)
def test_bad_targets_name_their_position(tmp_path, old, new, expected):
    assert old in PROFILES
    path = _write(tmp_path, "profiles.yml", PROFILES.replace(old, new, 1))
    issues = _issues(lambda: load_profiles(path, environ=ENV))
    assert any(issue.startswith(expected) for issue in issues), issues


def test_an_email_route_needs_the_smtp_settings_of_the_chosen_target(tmp_path):
    profiles = _write(tmp_path, "profiles.yml", PROFILES)
    monitors = _write(tmp_path, "monitors.yml", MONITORS)
    issues = _issues(lambda: load_config(profiles, monitors, target="prod", environ=ENV))
    assert issues == [
        "monitors.yml:4:5: owners.team.email: an email route needs `email:` (the SMTP relay: "
        "host, sender...) in profiles.yml target 'prod'"
    ]


def test_route_secrets_are_redacted_from_error_texts(tmp_path):
    """Window errors are stored, logged and sent: the SMTP password and the routing keys are
    among the secrets taken out of them."""
    from lookout.runtime.redact import redact_secrets

    config = load_config(
        _write(tmp_path, "profiles.yml", PROFILES),
        _write(tmp_path, "monitors.yml", MONITORS),
        environ=ENV,
    )
    text = f"boom: {FAKE_SMTP_PASSWORD} and {FAKE_PD_ROUTING_KEY}"
    assert redact_secrets(text, config) == "boom: *** and ***"


def test_a_route_without_its_channel_shows_beside_the_files_other_errors(tmp_path):
    """A schema error elsewhere in monitors.yml (a threshold that is not a number, an owner
    whose route is malformed) does not hide that the valid owner's email route has no SMTP
    relay in the target: one round of `validate-config` shows both."""
    broken = MONITORS.replace("threshold: 0.1", "threshold: high").replace(
        "monitors:\n",
        "  other:\n    email: {to: [not-an-address]}\nmonitors:\n",
    )
    profiles = _write(tmp_path, "profiles.yml", PROFILES)
    monitors = _write(tmp_path, "monitors.yml", broken)
    issues = _issues(lambda: load_config(profiles, monitors, target="prod", environ=ENV))
    route = (
        "monitors.yml:4:5: owners.team.email: an email route needs `email:` (the SMTP relay: "
        "host, sender...) in profiles.yml target 'prod'"
    )
    assert route in issues
    assert any(i.startswith("monitors.yml:16:") and "threshold" in i for i in issues), issues
    assert any(i.startswith("monitors.yml:9:18:") and "owners.other.email" in i for i in issues)
    # the malformed owner is reported for what it is, not also as a route without a relay
    assert not any("owners.other" in i and "needs `email:`" in i for i in issues), issues

    from typer.testing import CliRunner

    from lookout.cli import app

    result = CliRunner().invoke(
        app,
        [
            "validate-config",
            "--profiles",
            str(profiles),
            "--monitors",
            str(monitors),
            "--target",
            "prod",
        ],
        env={**ENV, "COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert route in result.output and "threshold" in result.output
