"""A status that is neither ok nor an error worth paging as one (a guardrail's block, a quota's
429) gets a rate of its own: `source.status_rates.<name>` stores `status_rate.<name>`, pushed
down or in pandas alike, and a rule on it pages; what cannot be one is a config error."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from tests.conftest import MONITOR_YAML, T0, make_requests, write_tables
from tests.window_results import engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
CODES = (200, 429, 451, 500)  # ok, rate-limited, blocked by a guardrail, failed

RATED = """\
      ok_statuses: [200, 451]
      status_rates: {rate_limited: [429], blocked: [451]}
"""
RULE = """\
      - name: blocked_answers
        metric: status_rate.blocked
        op: ">"
        threshold: 0.1
        min_n: 20
        for: 1
        significance: false
        severity: P2
        owner: team
        split_by: ["*"]
"""


def _coded() -> pd.DataFrame:
    frame = make_requests()
    rng = np.random.default_rng(11)
    frame["status"] = rng.choice(CODES, len(frame), p=[0.7, 0.08, 0.17, 0.05])
    return frame


def _monitors(pushdown: str, rated: str = RATED) -> str:
    text = MONITOR_YAML.format(table="coded", schema_line="", pushdown=pushdown, threshold=0.5)
    return text.replace("      ok_statuses: [ok]\n", rated) + RULE


@pytest.mark.parametrize(
    ("engine_name", "pushdowns"),
    [
        ("duckdb", ("on", "off")),
        ("sqlite", ("off",)),
        pytest.param("postgresql", ("on", "off"), marks=pytest.mark.postgres),
    ],
)
def test_a_status_rate_is_the_share_of_its_values_and_a_rule_on_it_pages(
    engine_name, pushdowns, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    frame = _coded()
    write_tables(url, coded=frame)
    stored = [
        stored_by_window(project(tmp_path, url, pushdown, _monitors(pushdown)), WINDOW)
        for pushdown in pushdowns
    ]
    assert all(s["metrics"] == stored[0]["metrics"] for s in stored)  # SQL and pandas agree
    start, end = (pd.Timestamp(t.replace(tzinfo=None)) for t in (WINDOW.start, WINDOW.end))
    inside = frame[(frame["event_time"] >= start) & (frame["event_time"] < end)]
    ours = inside[inside["model_version"] == "m1"]
    metrics = {(r[1], r[2]): r[3] for r in stored[0]["metrics"] if r[0] == "m1@p1"}
    for name, code in (("rate_limited", 429), ("blocked", 451)):
        assert metrics[("*", f"status_rate.{name}")] == pytest.approx(
            (ours["status"] == code).mean(), abs=1e-6
        )
    errors = ours["status"].isin([429, 500]).mean()  # a blocked answer is no error here
    assert metrics[("*", "error_rate")] == pytest.approx(errors, abs=1e-6)
    eu = ours[ours["region"] == "eu"]
    assert metrics[("region=eu", "status_rate.blocked")] == pytest.approx(
        (eu["status"] == 451).mean(), abs=1e-6
    )
    firing = {(a[0], a[1], a[2]) for a in stored[0]["alerts"]}
    assert ("blocked_answers", "*", "firing") in firing


@pytest.mark.parametrize(
    ("rated", "rule", "said"),
    [
        (
            RATED,
            "status_rate.timeouts",
            "rules[1].metric: source.status_rates has no 'timeouts'; known: "
            "status_rate.rate_limited, status_rate.blocked",
        ),
        (
            "      ok_statuses: [200]\n      status_rates: {blocked: []}\n",
            "status_rate.blocked",
            "source.status_rates: blocked: list at least one value",
        ),
        (
            "      ok_statuses: [200]\n      status_rates: {blocked rate: [451]}\n",
            "error_rate",
            "source.status_rates.blocked rate",
        ),
    ],
    ids=["unknown name", "no value", "not an identifier"],
)
def test_a_status_rate_that_cannot_be_one_is_a_config_error_at_its_key(tmp_path, rated, rule, said):
    text = _monitors("off", rated).replace("metric: status_rate.blocked", f"metric: {rule}")
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    message = " ".join(str(raised.value).split())
    assert said in message
    assert "monitors.yml:" in message  # with its file:line:col


def test_status_rates_without_a_status_column_are_a_config_error(tmp_path):
    text = _monitors("off").replace("        status: status\n", "")
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert "source.status_rates: status_rates are values of the status column" in str(raised.value)


def test_a_rate_added_later_pools_only_the_windows_that_counted_it():
    """Summaries stored before the rate existed have no count of it: they are not zeros."""
    from lookout.core.summary import Summary
    from lookout.model.aggregates import GroupAggregates
    from lookout.model.families.registry import FAMILIES

    before = GroupAggregates("m1@p1", "*", 100, status_n=100, errors=3).summary()
    after = GroupAggregates(
        "m1@p1", "*", 50, status_n=50, errors=2, status_hits={"blocked": 10}
    ).summary()
    pooled = Summary(windows=0).merge(before).merge(after)
    family = FAMILIES.family("status_rate.blocked")
    assert family is not None
    estimate = family.from_summary(pooled, "blocked")
    assert (estimate.value, estimate.n) == (pytest.approx(0.2), 50)
    none = GroupAggregates("m1@p1", "*", 50, status_n=50, status_hits={"blocked": 0}).summary()
    assert family.from_summary(Summary(windows=0).merge(none), "blocked").value == 0.0


def test_one_value_needs_no_list_and_compare_and_gate_take_the_rate(tmp_path):
    from lookout.compare.gate import Condition
    from lookout.compare.releases import is_compared_rate

    text = _monitors("off", RATED.replace("rate_limited: [429]", "rate_limited: 429"))
    directory = project(tmp_path, "duckdb:///:memory:", "cfg", text)
    source = load_config(directory / "profiles.yml", directory / "monitors.yml")
    assert source.monitors.monitors[0].source.status_rates["rate_limited"] == [429]
    assert is_compared_rate("status_rate.blocked")  # `lookout compare` lists it
    assert Condition(metric="status_rate.blocked", max_worse=0.01).metric == "status_rate.blocked"
