"""Cohorts of a wide split share one false-alarm budget (`alerting.split_budget`, off by
default): past the budget's evaluated cohorts of a column, each is tested at 2.5% x budget /
cohorts (pure, then through `run_window`)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from tests.alerts.test_rules import rule, value
from tests.conftest import T0, make_requests, rules_only_context, run_hours

from lookout.alerts.rules import (
    ONE_SIDED,
    SPLIT_BUDGET,
    evaluate_rules,
    split_level,
    split_levels,
)
from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.pipeline import Context, run_window
from lookout.windows import Window


def _cohorts(width: int, culprit: tuple[int, int], n: int = 13) -> list:
    """`width` tenants of `n` records each; the first fails culprit[0] of culprit[1]."""
    hits, size = culprit
    rest = [value(0.0, n, f"tenant=t{i:02d}", low=0.0, high=0.2) for i in range(1, width)]
    return [value(hits / size, size, "tenant=t00", low=0.0, high=0.5), *rest]


CULPRIT = "tenant=t00"


def _significant(**overrides):
    return rule(**{"significance": True, "min_n": 10, "split_by": ["*", "tenant"], **overrides})


def test_split_level_is_the_budget_shared_past_its_width():
    assert SPLIT_BUDGET == 8
    assert split_level(1) == split_level(SPLIT_BUDGET) == ONE_SIDED
    assert split_levels(_significant(), _cohorts(30, (3, 13))) == {}  # off: every test at 2.5%
    assert split_level(SPLIT_BUDGET + 1) == pytest.approx(ONE_SIDED * 8 / 9)
    assert split_level(30) == pytest.approx(ONE_SIDED * 8 / 30)


@pytest.mark.parametrize(("width", "outcome"), [(8, "breach"), (9, "inconclusive")])
def test_a_breach_at_the_level_of_eight_is_not_one_among_nine(width, outcome):
    # 3 failures in 13 against 5%: one-sided p 0.0245, under 2.5% and over 2.5% x 8/9 (2.22%)
    values = _cohorts(width, (3, 13))
    levels = split_levels(_significant(), values, budget=8)
    evaluations = evaluate_rules([_significant()], values, levels=levels)
    [culprit] = [ev for ev in evaluations if ev.cohort == "tenant=t00"]
    assert culprit.outcome == outcome


def test_only_cohorts_with_enough_records_share_the_budget():
    # 20 tenants, but 12 of them below min_n: 8 are tested, each at the full 2.5%
    quiet = [value(0.0, 9, f"tenant=q{i:02d}", low=0.0, high=0.3) for i in range(12)]
    values = _cohorts(8, (3, 13)) + quiet
    assert split_levels(_significant(), values, budget=8) == {}  # every test at ONE_SIDED
    [culprit] = [e for e in evaluate_rules([_significant()], values) if e.cohort == "tenant=t00"]
    assert culprit.outcome == "breach"


def test_the_release_and_other_columns_keep_their_own_level():
    values = [value(3 / 13, 13, "*", low=0.0), *_cohorts(30, (3, 13))]
    values.append(value(3 / 13, 13, "region=eu", low=0.0))
    wide = _significant(split_by=None)
    levels = split_levels(wide, values, budget=8)
    evaluations = {ev.cohort: ev for ev in evaluate_rules([wide], values, levels=levels)}
    assert evaluations["*"].outcome == "breach"
    assert evaluations["region=eu"].outcome == "breach"
    assert evaluations["tenant=t00"].outcome == "inconclusive"
    assert set(levels) == {("r", "rel", f"tenant=t{i:02d}") for i in range(30)}
    assert all(level == pytest.approx(ONE_SIDED * 8 / 30) for level in levels.values())


def test_a_strong_breach_stands_for_for_at_the_shared_level():
    # 5 in 13 against 5%: p 2.9e-4, under 2.5%^2 (6.25e-4) but over 2.5% x 8/30 x 2.5% (1.7e-4)
    strong = _significant(**{"for": 2})

    def culprit(width):
        values = _cohorts(width, (5, 13))
        levels = split_levels(strong, values, budget=8)
        return next(
            e for e in evaluate_rules([strong], values, levels=levels) if e.cohort == CULPRIT
        )

    alone, among = culprit(8), culprit(30)
    assert (alone.outcome, alone.evidence) == ("breach", 2)
    assert (among.outcome, among.evidence) == ("breach", 1)


def test_levels_given_are_used_for_a_single_value():
    # a longer pool or a renewal re-evaluates one cohort: it keeps the window's shared level
    [alone] = evaluate_rules([_significant()], _cohorts(1, (3, 13)))
    shared = {("r", "rel", CULPRIT): split_level(30)}
    [given] = evaluate_rules([_significant()], _cohorts(1, (3, 13)), levels=shared)
    assert (alone.outcome, given.outcome) == ("breach", "inconclusive")


def _tenants(width: int, errors: int = 3) -> pd.DataFrame:
    """One hour: `width` tenants (as `region`) of 13 requests each; t00 fails `errors`."""
    frame = make_requests(hours=1, per_hour=13 * width, seed=3)
    region = np.repeat([f"t{i:02d}" for i in range(width)], 13)
    frame["region"], frame["model_version"], frame["prompt_version"] = region, "m1", "p1"
    frame["status"] = np.where(
        (region == "t00") & (np.arange(len(frame)) % 13 < errors), "error", "ok"
    )
    return frame


RULES = """
      - name: tenant_errors
        metric: error_rate
        op: ">"
        threshold: 0.05
        for: 1
        severity: P1
        owner: team
        split_by: [region]
"""


def _budgeted(directory, frame, budget: int | None):
    """`rules_only_context` with `alerting: {split_budget: budget}` written into monitors.yml."""
    ctx = rules_only_context(directory, frame, RULES)
    if budget is None:
        return ctx
    monitors = directory / "cfg" / "monitors.yml"
    monitors.write_text(f"alerting: {{split_budget: {budget}}}\n" + monitors.read_text())
    config = load_config(directory / "cfg" / "profiles.yml", monitors)
    return Context.from_config(config)


@pytest.mark.parametrize(
    ("width", "budget", "opens"), [(8, 8, True), (30, 8, False), (30, 30, True), (30, None, True)]
)
def test_run_window_opens_a_tenant_alert_only_within_the_budget(tmp_path, width, budget, opens):
    ctx = _budgeted(tmp_path, _tenants(width), budget)
    assert ctx.config.monitors.alerting.split_budget == budget  # None: off, the default
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, Window(T0, T0 + timedelta(hours=1)))
    assert result.status == "succeeded", result.error
    assert len(result.alerts_opened) == (1 if opens else 0)
    # nothing stored either: 3 in 13 among 30 tenants is inconclusive, not a breach
    states = {(a.cohort, a.state) for a in ctx.store.alerts("bot") if a.rule == "tenant_errors"}
    assert states == ({("region=t00", "firing")} if opens else set())


def test_a_longer_look_keeps_the_split_level(tmp_path):
    # t00 among 30: 2 of 13 failed in the first hour, 3 of 13 in the second (p 0.0245 alone:
    # inconclusive at 0.67%); the two hours pooled, 5 in 26, are p 0.0095: a breach at 2.5%,
    # not at the split's 0.67%, so the longer look opens nothing either
    hours = [_tenants(30, errors) for errors in (2, 3)]
    hours[1]["event_time"] += pd.Timedelta(hours=1)
    hours[1]["ingested_at"] += pd.Timedelta(hours=1)
    hours[1]["request_id"] = "s" + hours[1]["request_id"]
    ctx = _budgeted(tmp_path, pd.concat(hours, ignore_index=True), 8)
    run_hours(ctx, 2)
    assert [a for a in ctx.store.alerts("bot") if a.rule == "tenant_errors"] == []


@pytest.mark.parametrize("budget", ["0", "-3", "eight"])
def test_a_split_budget_below_one_is_a_config_error_at_its_key(tmp_path, budget):
    rules_only_context(tmp_path, _tenants(2), RULES)
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(f"alerting:\n  split_budget: {budget}\n" + monitors.read_text())
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "cfg" / "profiles.yml", monitors)
    assert "monitors.yml:2:3: alerting.split_budget" in str(raised.value)


def test_a_cohort_whose_alert_is_open_is_tested_alone():
    # picked out of the split already (pending or firing): its next test is one cohort's
    values = _cohorts(30, (3, 13))
    levels = split_levels(_significant(), values, open_groups={("rel", CULPRIT)}, budget=8)
    assert ("r", "rel", CULPRIT) not in levels and len(levels) == 29
    evaluations = evaluate_rules([_significant()], values, levels=levels)
    assert [ev.cohort for ev in evaluations if ev.outcome == "breach"] == [CULPRIT]
