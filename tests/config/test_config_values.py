"""Values that used to pass silently: NaN/inf numbers, a non-string target, offline evaluator
parameters of the wrong type. Each is a ConfigError naming file:line:col and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookout.compare.gate import GatePolicy
from lookout.config.loader import load_model, load_monitors, load_profiles
from lookout.errors import ConfigError

MONITORS = """\
owners:
  team: {slack_users: [U0TEAM01]}
monitors:
  - name: bot
    source:
      table: requests
      columns: {record_id: id, ts: created_at, model_version: model, prompt_version: pv,
                latency_ms: lat, output: answer, context: ctx}
      cohorts: [region]
    validation:
      expectations:
        - {kind: between, column: latency_ms, min: 0, max: 60000}
        - {kind: in_set, column: region, values: [eu, us]}
    drift: {enabled: true, thresholds: {psi: 0.2}}
    evaluators:
      checks: [{name: groundedness, params: {question_credit: 0.5}}]
      sampling: {share: 0.05}
      budget: {max_usd: 5}
    metrics: {prices: {m1: {input_per_1m: 1, output_per_1m: 2}}}
    rules:
      - name: a
        metric: error_rate
        op: ">"
        threshold: 0.1
        owner: team
        escalate: [{severity: P0, threshold: 0.2}]
"""

PROFILES = """\
target: dev
outputs:
  dev:
    warehouse: {url: "duckdb:///wh.duckdb"}
    store: {url: "sqlite:///results.sqlite"}
    judge: {rpm: 60, timeout_s: 30, prices: {m: {input_per_1m: 1, output_per_1m: 1}}}
"""

FINITE = "expected a finite number (not .nan or .inf)"


def _issues(call) -> list[str]:
    with pytest.raises(ConfigError) as info:
        call()
    return [str(issue) for issue in info.value.issues]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_base_files_load(tmp_path):
    assert load_monitors(_write(tmp_path, "monitors.yml", MONITORS)).monitors[0].rules
    assert load_profiles(_write(tmp_path, "profiles.yml", PROFILES), environ={}).judge.rpm == 60


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf", ".NaN", "'nan'", '"inf"', "1e999"])
def test_a_rule_threshold_must_be_finite(tmp_path, bad):
    text = MONITORS.replace("threshold: 0.1", f"threshold: {bad}")
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issues == [f"monitors.yml:24:9: monitors[0].rules[0].threshold: {FINITE}"]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "threshold: 0.2}",
            "threshold: .inf}",
            "monitors.yml:26:35: monitors[0].rules[0].escalate[0].threshold: ",
        ),
        (
            "max: 60000}",
            "max: .inf}",
            "monitors.yml:12:55: monitors[0].validation.expectations[0].max: ",
        ),
        (
            "values: [eu, us]",
            "values: [eu, .nan]",
            "monitors.yml:13:55: monitors[0].validation.expectations[1].values[1]: ",
        ),
        ("psi: 0.2", "psi: .nan", "monitors.yml:14:41: monitors[0].drift.thresholds.psi: "),
        (
            "max_usd: 5",
            "max_usd: .inf",
            "monitors.yml:18:16: monitors[0].evaluators.budget.max_usd: ",
        ),
        (
            "input_per_1m: 1,",
            "input_per_1m: .inf,",
            "monitors.yml:19:29: monitors[0].metrics.prices.m1.input_per_1m: ",
        ),
    ],
)
def test_every_float_of_monitors_yml_must_be_finite(tmp_path, old, new, where):
    assert old in MONITORS
    text = MONITORS.replace(old, new, 1)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert f"{where}{FINITE}" in issues, issues
    assert all(issue.startswith(where) for issue in issues), issues


def test_offline_parameters_are_typed_and_finite(tmp_path):
    for value, message in [
        (".nan", "question_credit: Input should be a finite number"),
        ("high", "question_credit: Input should be a valid number"),
    ]:
        text = MONITORS.replace("question_credit: 0.5", f"question_credit: {value}")
        [issue] = _issues(lambda t=text: load_monitors(_write(tmp_path, "monitors.yml", t)))
        assert issue.startswith("monitors.yml:16:37: monitors[0].evaluators.checks[0].params: ")
        assert f"offline evaluator 'groundedness': {message}" in issue
    text = MONITORS.replace("question_credit: 0.5", "window: '4'")
    [spec] = load_monitors(_write(tmp_path, "monitors.yml", text)).monitors[0].evaluators.checks
    assert spec.params == {"window": 4}  # converted, so the evaluator gets an int
    text = MONITORS.replace(
        "{name: groundedness, params: {question_credit: 0.5}}", "{name: pii, params: {kinds: 5}}"
    )
    [issue] = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert "offline evaluator 'pii': kinds: Input should be a valid tuple" in issue


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("rpm: 60", "rpm: .nan", "profiles.yml:6:13: outputs.dev.judge.rpm: "),
        ("timeout_s: 30", "timeout_s: .inf", "profiles.yml:6:22: outputs.dev.judge.timeout_s: "),
        (
            "output_per_1m: 1}}}",
            "output_per_1m: .nan}}}",
            "profiles.yml:6:67: outputs.dev.judge.prices.m.output_per_1m: ",
        ),
    ],
)
def test_every_float_of_profiles_yml_must_be_finite(tmp_path, old, new, where):
    assert old in PROFILES
    path = _write(tmp_path, "profiles.yml", PROFILES.replace(old, new, 1))
    [issue] = _issues(lambda: load_profiles(path, environ={}))
    assert issue.startswith(where) and issue.endswith(FINITE), issue


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "conditions:\n  - {metric: error_rate, max_worse: .nan}\n",
            f"gate.yml:2:26: conditions[0].max_worse: {FINITE}",
        ),
        (
            "conditions:\n  - {metric: error_rate, max_worse_relative: .inf}\n",
            f"gate.yml:2:26: conditions[0].max_worse_relative: {FINITE}",
        ),
        (
            "alpha: .nan\nconditions:\n  - {metric: error_rate, max_worse: 0.1}\n",
            f"gate.yml:1:1: alpha: {FINITE}",
        ),
    ],
)
def test_gate_policy_numbers_must_be_finite(tmp_path, text, where):
    [issue] = _issues(lambda: load_model(_write(tmp_path, "gate.yml", text), GatePolicy))
    assert issue == where


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("[a, b]", "a list"),
        ("{a: 1}", "a mapping"),
        ("3", "a number (quote it to make it a name)"),
        ("2026-01-01", "a date (quote it to make it a name)"),
        ("yes", "true/false"),
    ],
)
def test_a_target_that_is_not_a_string_is_a_config_error(tmp_path, value, kind):
    path = _write(tmp_path, "profiles.yml", PROFILES.replace("target: dev", f"target: {value}"))
    assert _issues(lambda: load_profiles(path, environ={})) == [
        f"profiles.yml:1:1: target: expected the name of one of outputs (a string), got {kind}"
    ]


ZERO = "must be longer than zero (e.g. 1h)"


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "cohorts: [region]",
            "cohorts: [region]\n      cohort_lookback: 0d",
            "source.cohort_lookback",
        ),
        ("psi: 0.2}", "psi: 0.2}, period: 0h", "drift.period"),
        ("psi: 0.2}", "psi: 0.2}, reports: {retention: 0d}", "drift.reports.retention"),
        ("psi: 0.2}", "psi: 0.2}, reference: {lookback: 0h}", "drift.reference.lookback"),
        ("owner: team\n", "owner: team\n        max_over: 0h\n", "rules[0].max_over"),
        ("owner: team\n", "owner: team\n        remind_after: 0s\n", "rules[0].remind_after"),
    ],
)
def test_a_span_of_zero_is_a_config_error(tmp_path, old, new, where):
    """Spans something waits, pools or keeps for: `0h` would silently mean never or nothing."""
    assert old in MONITORS
    text = MONITORS.replace(old, new, 1)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert [i for i in issues if i.endswith(f"monitors[0].{where}: {ZERO}")], issues


def test_stale_after_of_zero_is_a_config_error(tmp_path):
    text = MONITORS.replace("monitors:\n", "alerting: {stale_after: 0m}\nmonitors:\n", 1)
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issues == [f"monitors.yml:3:12: alerting.stale_after: {ZERO}"]


def test_same_hours_is_for_an_own_history_of_windows_shorter_than_a_day(tmp_path):
    rule = "owner: team\n        reference: {kind: previous_release, hours: same}\n"
    text = MONITORS.replace("owner: team\n", rule, 1)
    [issue] = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", text)))
    assert issue.startswith("monitors.yml:26:9: monitors[0].rules[0].reference: ")
    assert issue.endswith("hours: same is for kind: history (the cohort's own past)")
    history = rule.replace("previous_release", "history")
    daily = MONITORS.replace("owner: team\n", history, 1).replace(
        "    drift:", "    window: {size: 1d}\n    drift:", 1
    )
    issues = _issues(lambda: load_monitors(_write(tmp_path, "monitors.yml", daily)))
    assert issues == [
        "monitors.yml:27:36: monitors[0].rules[0].reference.hours: hours: same needs windows "
        "shorter than a day (the windows are 1d)"
    ]
    hourly = MONITORS.replace("owner: team\n", history, 1)
    [monitor] = load_monitors(_write(tmp_path, "monitors.yml", hourly)).monitors
    assert monitor.rules[0].reference.hours == "same"
