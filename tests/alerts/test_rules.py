"""Rule evaluation at the min-n and threshold boundaries, splits and significance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout.alerts.lifecycle import apply_evaluations
from lookout.alerts.rules import evaluate_rules
from lookout.config.models import AlertRule
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import fingerprint
from lookout.windows import Window


def rule(**overrides) -> AlertRule:
    base = {
        "name": "r",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.05,
        "min_n": 100,
        "owner": "team",
        "for": 1,  # opens on the first breach (persistence has tests of its own)
        "significance": False,  # a point threshold unless a test asks (default on for rates)
    }
    return AlertRule(**{**base, **overrides})


def value(v: float, n: int, cohort: str = "*", low=None, high=None, metric="error_rate"):
    return MetricValue("rel", cohort, metric, v, n, low, high)


@pytest.mark.parametrize(
    ("op", "v", "outcome"),
    [
        (">", 0.05, "ok"),  # equal is not past a strict threshold
        (">", 0.0500001, "breach"),
        (">=", 0.05, "breach"),
        ("<", 0.05, "ok"),
        ("<", 0.0499, "breach"),
        ("<=", 0.05, "breach"),
    ],
)
def test_threshold_boundary(op, v, outcome):
    [ev] = evaluate_rules([rule(op=op)], [value(v, 100)])
    assert ev.outcome == outcome


@pytest.mark.parametrize(("n", "outcome"), [(99, "not_enough_data"), (100, "breach")])
def test_min_n_boundary(n, outcome):
    [ev] = evaluate_rules([rule()], [value(0.5, n)])
    assert ev.outcome == outcome


def test_split_by_selects_cohorts():
    values = [value(0.5, 200, "*"), value(0.5, 200, "region=eu"), value(0.5, 200, "plan=free")]
    evs = evaluate_rules([rule(split_by=["region"])], values)
    assert [e.cohort for e in evs] == ["region=eu"]
    evs = evaluate_rules([rule(split_by=["*", "plan"])], values)
    assert [e.cohort for e in evs] == ["*", "plan=free"]
    assert len(evaluate_rules([rule()], values)) == 3


def test_significance_needs_the_whole_interval_past_the_threshold():
    noisy = value(0.08, 100, low=0.04, high=0.15)
    clear = value(0.12, 400, low=0.09, high=0.16)
    assert evaluate_rules([rule(significance=True)], [noisy])[0].outcome == "inconclusive"
    assert evaluate_rules([rule(significance=True)], [clear])[0].outcome == "breach"
    assert evaluate_rules([rule(significance=False)], [noisy])[0].outcome == "breach"
    below = value(0.01, 400, low=0.005, high=0.03)
    assert evaluate_rules([rule(op="<", significance=True)], [below])[0].outcome == "breach"


def test_other_metrics_are_ignored():
    assert evaluate_rules([rule()], [value(9.0, 500, metric="latency_p99_ms")]) == []


T = datetime(2026, 11, 2, tzinfo=UTC)
W1, W2, W3 = (Window(T + timedelta(hours=i), T + timedelta(hours=i + 1)) for i in range(3))


def test_lifecycle_open_keep_resolve_reopen():
    r = rule()
    breach = evaluate_rules([r], [value(0.5, 200)])
    fine = evaluate_rules([r], [value(0.01, 200)])
    [opened] = apply_evaluations("mon", {}, breach, W1, T)
    assert opened.event == "opened" and opened.notifies
    assert opened.alert.fingerprint == fingerprint("r", "mon", "rel", "*")
    state = {opened.alert.fingerprint: opened.alert}
    [again] = apply_evaluations("mon", state, breach, W1, T)  # re-run of the same window
    assert again.event == "firing" and not again.notifies
    # an older window that is fine (a backfill) must not resolve a live alert
    assert apply_evaluations("mon", state, fine, Window(T - timedelta(hours=1), T), T) == []
    [resolved] = apply_evaluations("mon", state, fine, W2, T)
    assert resolved.event == "resolved" and resolved.alert.state == "resolved"
    state = {resolved.alert.fingerprint: resolved.alert}
    [reopened] = apply_evaluations("mon", state, breach, W3, T)
    assert reopened.event == "reopened" and reopened.notifies


def test_not_enough_data_neither_opens_nor_resolves():
    r = rule()
    [opened] = apply_evaluations("mon", {}, evaluate_rules([r], [value(0.5, 200)]), W1, T)
    state = {opened.alert.fingerprint: opened.alert}
    thin = evaluate_rules([r], [value(0.0, 5)])
    assert apply_evaluations("mon", state, thin, W2, T) == []
    assert apply_evaluations("mon", {}, evaluate_rules([r], [value(0.9, 5)]), W1, T) == []


def test_significance_opens_on_evidence_and_resolves_on_recovery():
    r = rule(significance=True)
    strong = evaluate_rules([r], [value(0.12, 400, low=0.09, high=0.16)])
    [opened] = apply_evaluations("mon", {}, strong, W1, T)
    state = {opened.alert.fingerprint: opened.alert}
    # still above 5% but not significantly: the alert keeps firing (no flap)
    noisy = evaluate_rules([r], [value(0.07, 100, low=0.03, high=0.14)])
    assert apply_evaluations("mon", state, noisy, W2, T) == []
    # back under the threshold: resolved, even though the interval still includes 5%
    recovered = evaluate_rules([r], [value(0.03, 100, low=0.01, high=0.085)])
    [resolved] = apply_evaluations("mon", state, recovered, W3, T)
    assert resolved.event == "resolved"


def test_a_long_firing_alert_is_recalled_once_per_remind_after():
    r = rule(remind_after="3h")
    breach = evaluate_rules([r], [value(0.5, 200)])
    hour = timedelta(hours=1)
    [opened] = apply_evaluations("mon", {}, breach, W1, T)
    state = {opened.alert.fingerprint: opened.alert}
    events = []
    for i in range(1, 8):  # windows 1h..7h after the opening one
        window = Window(W1.start + i * hour, W1.end + i * hour)
        [t] = apply_evaluations("mon", state, breach, window, T)
        state = {t.alert.fingerprint: t.alert}
        events.append(t.event)
    assert events == ["firing", "firing", "reminder", "firing", "firing", "reminder", "firing"]
    assert state[opened.alert.fingerprint].last_notified_window == W1.start + 6 * hour
    never = rule(remind_after=None)
    [o] = apply_evaluations("mon", {}, evaluate_rules([never], [value(0.5, 200)]), W1, T)
    late = Window(W1.start + 48 * hour, W1.end + 48 * hour)
    [t] = apply_evaluations(
        "mon", {o.alert.fingerprint: o.alert}, evaluate_rules([never], [value(0.5, 200)]), late, T
    )
    assert t.event == "firing" and not t.notifies
