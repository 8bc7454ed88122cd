"""YAML the loader refuses, quickly and with `file:line:col`: aliases (billion laughs), deep
nesting, repeated keys, unreadable scalars and characters, and any Jinja but env_var."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.compare.gate import GatePolicy
from lookout.config.loader import load_model, load_monitors, load_profiles
from lookout.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MONITORS = """\
owners:
  team: {slack_users: [U0TEAM01]}
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: pv}
    rules:
      - {name: a, metric: error_rate, op: ">", threshold: 0.1, owner: team}
"""

PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///wh.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
"""

# 9**7 = 4.8 million strings from a 700-byte file: the old loader took 20 s, then MemoryError
BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
        for prev, name in zip("abcdef", "bcdefg", strict=True)
    )
    + "monitors: [*g]\n"
)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _issues(call) -> list[str]:
    with pytest.raises(ConfigError) as info:
        call()
    return [str(issue) for issue in info.value.issues]


def test_billion_laughs_is_refused_at_once_with_the_alias_position(tmp_path):
    path = _write(tmp_path, "monitors.yml", BILLION_LAUGHS)
    started = time.perf_counter()
    issues = _issues(lambda: load_monitors(path))
    assert time.perf_counter() - started < 0.5
    assert issues == [
        "monitors.yml:2:8: YAML aliases (*a) are not supported: an alias can expand a small "
        "file into a huge one; write the value out again instead"
    ]


def test_billion_laughs_through_validate_config_exits_2(tmp_path):
    path = _write(tmp_path, "monitors.yml", BILLION_LAUGHS)
    profiles = _write(tmp_path, "profiles.yml", PROFILES)
    result = CliRunner().invoke(
        app, ["validate-config", "--profiles", str(profiles), "--monitors", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert "monitors.yml:2:8: YAML aliases (*a) are not supported" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "profiles.yml",
            PROFILES.replace(
                '    store: {url: "sqlite:///results.sqlite"}\n',
                '    store: &db {url: "sqlite:///results.sqlite"}\n  prod:\n    warehouse: *db\n',
            ),
            "profiles.yml:7:16: YAML aliases (*db) are not supported",
        ),
        (
            "monitors.yml",
            MONITORS.replace("      - {name: a,", "      - &rule {name: a,").replace(
                "owner: team}\n", "owner: team}\n      - <<: *rule\n        name: b\n"
            ),
            "monitors.yml:10:13: YAML aliases (*rule) are not supported",
        ),
        (
            "gate.yml",
            "conditions:\n  - &c {metric: error_rate, max_worse: 0.02}\n  - *c\n",
            "gate.yml:3:5: YAML aliases (*c) are not supported",
        ),
    ],
)
def test_a_plain_alias_is_refused_and_says_why(tmp_path, name, text, where):
    path = _write(tmp_path, name, text)
    load = {
        "profiles.yml": lambda: load_profiles(path, environ={}),
        "monitors.yml": lambda: load_monitors(path, environ={}),
        "gate.yml": lambda: load_model(path, GatePolicy),
    }[name]
    [issue] = _issues(load)
    assert issue.startswith(where), issue
    assert "an alias can expand a small file into a huge one" in issue


def test_gate_policy_with_an_alias_exits_2(tmp_path):
    policy = _write(
        tmp_path, "gate.yml", "conditions:\n  - &c {metric: error_rate, max_worse: 0.02}\n  - *c\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "gate",
            "--monitor",
            "support_bot",
            "--candidate",
            "m2",
            "--policy",
            str(policy),
            "--profiles",
            str(ROOT / "profiles.yml"),
            "--monitors",
            str(ROOT / "monitors.yml"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "gate.yml:3:5: YAML aliases (*c) are not supported" in result.output


def test_an_anchor_without_alias_is_fine(tmp_path):
    text = MONITORS.replace("  team: {", "  team: &team {")
    assert load_monitors(_write(tmp_path, "monitors.yml", text)).owners["team"]


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused_with_its_position(tmp_path, depth):
    path = _write(tmp_path, "monitors.yml", "monitors: " + "[" * depth + "]" * depth + "\n")
    [issue] = _issues(lambda: load_monitors(path))
    assert issue == "monitors.yml:1:74: nested more than 64 levels deep"


def test_a_key_given_twice_is_an_error_not_the_last_one_wins(tmp_path):
    text = MONITORS.replace("threshold: 0.1,", "threshold: 0.1, threshold: 0.9,")
    [issue] = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issue == (
        "monitors.yml:9:64: monitors[0].rules[0].threshold: key given twice in one mapping "
        "(YAML would keep only the last)"
    )


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("2026-13-01", "monitors.yml:9:59: cannot read this value as timestamp (ValueError)"),
        ("!!int abc", "monitors.yml:9:59: cannot read this value as int (ValueError)"),
        ("!!float ''", "monitors.yml:9:59: cannot read this value as float (IndexError)"),
        ("!!bool 1", "monitors.yml:9:59: cannot read this value as bool (KeyError)"),
        ("9" * 5000, "monitors.yml:9:59: cannot read this value as int (ValueError)"),
    ],
)
def test_unreadable_scalars_are_config_errors_with_position(tmp_path, value, where):
    text = MONITORS.replace("threshold: 0.1", f"threshold: {value}")
    assert _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text))) == [where]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"monitors:\n  - name: b\x07t\n", "monitors.yml:2:12: YAML does not allow the character "),
        (b"monitors:\n  - name: b\xfft\n", "monitors.yml:2:12: not UTF-8 text"),
    ],
)
def test_bad_characters_and_bytes_have_a_position(tmp_path, raw, where):
    [issue] = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", raw)))
    assert issue.startswith(where), issue


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'ab' * 3 }}",
        "{% for i in range(3) %}x{% endfor %}",
        "{{ env_var('HOME') | upper }}",
        "{{ env_var(name) }}",
        "{{ lipsum() }}",
    ],
)
def test_only_env_var_templates_run(tmp_path, template):
    text = PROFILES.replace("sqlite:///results.sqlite", f"sqlite:///{template}")
    [issue] = _issues(lambda: load_profiles(_write(tmp_path, "profiles.yml", text), environ={}))
    assert issue == (
        "profiles.yml:5:13: outputs.dev.store.url: bad template: only {{ env_var('NAME') }} "
        "and {{ env_var('NAME', 'default') }} are supported"
    )


def test_env_var_templates_still_render(tmp_path):
    text = PROFILES.replace(
        "sqlite:///results.sqlite", "sqlite:///{{ env_var('D') }}/{{ env_var('F', 'r.sqlite') }}"
    )
    target = load_profiles(_write(tmp_path, "profiles.yml", text), environ={"D": "/data"})
    assert target.store.url.get_secret_value() == "sqlite:////data/r.sqlite"


def test_a_non_string_key_is_located(tmp_path):
    # found by the fuzzer: the issue's key path holds the int 0, the YAML text the string "0"
    path = _write(
        tmp_path, "gate.yml", "conditions:\n  - {metric: error_rate, max_worse: 1}\n0: x\n"
    )
    assert _issues(lambda: load_model(path, GatePolicy)) == [
        "gate.yml:3:1: [0]: Keys should be strings"
    ]


def test_keys_equal_once_read_are_given_twice(tmp_path):
    # `1` and `1.0` are one key once read: YAML would silently keep the second
    path = _write(tmp_path, "gate.yml", "1: a\n1.0: b\n")
    assert _issues(lambda: load_model(path, GatePolicy))[0].startswith(
        "gate.yml:2:1: 1.0: key given twice in one mapping"
    )
