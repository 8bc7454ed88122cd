"""Persistence (`for`), hysteresis (`keep_firing_for`), defaults by metric family, and what a
rule evaluates (`over`: the window, a fixed lookback, or `auto`), at their boundaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.alerts.test_rules import rule, value

from lookout.alerts.lifecycle import apply_evaluations, expired_pending, flap_hold
from lookout.alerts.pooled import History, rule_values
from lookout.alerts.rules import evaluate_rules, settings_of
from lookout.core.sketch import Sketch
from lookout.core.summary import Summary
from lookout.model.aggregates import MetricValue
from lookout.windows import Window

H = timedelta(hours=1)
T = datetime(2026, 11, 2, tzinfo=UTC)


def w(i: int) -> Window:
    return Window(T + i * H, T + (i + 1) * H)


def run(r, outcomes: list[tuple[float, int] | None]) -> list[str]:
    """Feed one value per window (None: no value) and collect the events in order."""
    state: dict = {}
    events = []
    for i, item in enumerate(outcomes):
        values = [] if item is None else [value(*item)]
        for t in apply_evaluations("mon", state, evaluate_rules([r], values), w(i), T):
            state[t.alert.fingerprint] = t.alert
            events.append(t.event)
    return events


BREACH, OK, THIN = (0.5, 200), (0.01, 200), (0.5, 5)


def test_for_opens_on_the_nth_breach_in_a_row_and_dates_it_from_the_first():
    r = rule(**{"for": 3})
    state: dict = {}
    events = []
    for i in range(3):
        [t] = apply_evaluations("mon", state, evaluate_rules([r], [value(*BREACH)]), w(i), T)
        state = {t.alert.fingerprint: t.alert}
        events.append((t.event, t.alert.state, t.notifies))
    assert events == [
        ("pending", "pending", False),
        ("pending", "pending", False),
        ("opened", "firing", True),
    ]
    [alert] = state.values()
    assert alert.first_window_start == w(0).start  # time to detect counts from the first
    assert alert.breaches == 3


def test_a_pending_alert_clears_on_a_normal_evaluation_and_counts_again():
    r = rule(**{"for": 2})
    assert run(r, [BREACH, OK, BREACH, BREACH]) == ["pending", "cleared", "pending", "opened"]
    # a single-window blip never pages
    assert run(r, [BREACH, OK, OK, BREACH, OK]) == ["pending", "cleared", "pending", "cleared"]
    # the cleared alert (and its history row) keeps the value that cleared it, not the breach
    state: dict = {}
    for i, item in enumerate([BREACH, OK]):
        [t] = apply_evaluations("mon", state, evaluate_rules([r], [value(*item)]), w(i), T)
        state = {t.alert.fingerprint: t.alert}
    assert (t.event, t.alert.state, t.alert.value, t.alert.n) == ("cleared", "inactive", *OK)


def test_a_pending_alert_without_a_breach_for_stale_after_clears_at_the_boundary():
    [t] = apply_evaluations(
        "mon", {}, evaluate_rules([rule(**{"for": 2})], [value(*BREACH)]), w(1), T
    )
    pending = t.alert  # its breach ends at T+2h
    assert expired_pending([pending], w(2), 2 * H, T) == []  # ends at T+3h: 1h without one
    [cleared] = expired_pending([pending], w(3), 2 * H, T)  # ends at T+4h: 2h without one
    assert (cleared.event, cleared.alert.state, cleared.alert.breaches) == (
        "cleared",
        "inactive",
        0,
    )
    assert cleared.note == "no breach since 2026-11-02 02:00 UTC" and not cleared.notifies
    assert expired_pending([pending], w(0), 2 * H, T) == []  # a backfilled older window
    # windows as long as stale_after (daily ones, 24h): one window without a verdict between
    # two breaches is still tolerated, a second is not
    assert expired_pending([pending], w(2), H, T) == []
    assert len(expired_pending([pending], w(3), H, T)) == 1
    assert expired_pending([replace(pending, state="firing")], w(9), 2 * H, T) == []


def test_not_enough_data_and_inconclusive_neither_count_nor_clear():
    r = rule(**{"for": 2})
    assert run(r, [BREACH, THIN, None, BREACH]) == ["pending", "opened"]
    sig = rule(**{"for": 2}, significance=True)
    noisy = MetricValue("rel", "*", "error_rate", 0.08, 100, 0.04, 0.15)  # inconclusive
    # significant (12 in 100: exact low 6.4% > 5%) but not on its own worth both breaches
    significant = MetricValue("rel", "*", "error_rate", 0.12, 100, 0.07, 0.2)
    state: dict = {}
    events = []
    for i, v in enumerate([significant, noisy, significant]):
        for t in apply_evaluations("mon", state, evaluate_rules([sig], [v]), w(i), T):
            state[t.alert.fingerprint] = t.alert
            events.append(t.event)
    assert events == ["pending", "opened"]


def test_a_rerun_of_the_same_window_does_not_count_twice():
    r = rule(**{"for": 2})
    [p] = apply_evaluations("mon", {}, evaluate_rules([r], [value(*BREACH)]), w(0), T)
    state = {p.alert.fingerprint: p.alert}
    assert apply_evaluations("mon", state, evaluate_rules([r], [value(*BREACH)]), w(0), T) == []
    [opened] = apply_evaluations("mon", state, evaluate_rules([r], [value(*BREACH)]), w(1), T)
    assert opened.event == "opened"


def test_a_resolved_alert_reopens_after_its_persistence_again():
    r = rule(**{"for": 2}, keep_firing_for="0s")
    assert run(r, [BREACH, BREACH, OK, BREACH, BREACH]) == [
        "pending",
        "opened",
        "resolved",
        "pending",
        "reopened",
    ]


def test_by_default_it_takes_as_many_normal_windows_to_resolve_as_breaching_ones_to_open():
    r = rule(**{"for": 2})
    assert run(r, [BREACH, BREACH, OK, BREACH, OK, OK]) == [
        "pending",
        "opened",
        "firing",  # one normal window: still firing (no flap)
        "firing",
        "firing",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("keep", "events"),
    [
        (None, ["opened", "resolved"]),
        ("1h", ["opened", "resolved"]),  # 1h after the last breach: resolves at the boundary
        ("2h", ["opened", "firing", "resolved"]),
        ("3h", ["opened", "firing", "firing", "resolved"]),
    ],
)
def test_keep_firing_for_resolves_only_that_long_after_the_last_breach(keep, events):
    r = rule(keep_firing_for=keep)
    got = run(r, [BREACH, OK, OK, OK, OK])
    assert got[: len(events)] == events and got.count("resolved") == 1


def test_keep_firing_for_counts_from_the_newest_breach():
    r = rule(keep_firing_for="2h")
    assert run(r, [BREACH, OK, BREACH, OK, OK]) == [
        "opened",
        "firing",
        "firing",
        "firing",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("metric", "min_n", "persistence"),
    [
        ("error_rate", 10, 2),  # a rate: significance on by default, the interval decides
        ("latency_p50_ms", 30, 2),
        ("latency_p95_ms", 200, 2),
        ("latency_p99_ms", 1000, 2),
        ("eval.groundedness", 10, 2),
        ("validation_failed_expectations", 1, 1),
        ("drift.input_length", 1, 1),
        ("traffic_ratio", 1, 1),
    ],
)
def test_defaults_come_from_the_metric_family(metric, min_n, persistence):
    r = rule(metric=metric, min_n=None, significance=None, **{"for": None})
    settings = settings_of(r)
    assert (settings.min_n, settings.persistence, settings.over) == (min_n, persistence, "auto")
    explicit = settings_of(rule(metric=metric, min_n=7, **{"for": 4}))
    assert (explicit.min_n, explicit.persistence) == (7, 4)


@pytest.mark.parametrize(("metric", "min_n"), [("error_rate", 50), ("eval.groundedness", 30)])
def test_a_point_threshold_on_a_rate_needs_more_records(metric, min_n):
    settings = settings_of(rule(metric=metric, min_n=None, significance=False))
    assert (settings.significance, settings.min_n) == (False, min_n)
    assert settings_of(rule(metric=metric, significance=None)).significance
    assert not settings_of(rule(metric="latency_p95_ms", significance=True)).significance


# -- what a rule evaluates -----------------------------------------------------------------------


def ops_summary(errors: int, n: int, latencies: list[float] | None = None) -> Summary:
    summary = Summary({"n": n, "status_n": n, "errors": errors})
    if latencies is not None:
        summary.sketches["latency_ms"] = Sketch.of(np.array(latencies))
    return summary


def history(*parts: Summary, group=("rel", "*")) -> History:
    return History({group: [(w(i).start, s) for i, s in enumerate(parts)]})


def test_auto_uses_the_windows_own_value_when_it_reaches_min_n():
    r = rule(min_n=100, over="auto")
    own = value(0.3, 150)
    hist = history(ops_summary(0, 500), ops_summary(45, 150))
    [v] = rule_values(r, settings_of(r), w(1), [own], hist)
    assert v is own and v.pooled_from is None


def test_auto_pools_back_until_min_n_is_reached():
    r = rule(min_n=100, over="auto")
    parts = [ops_summary(0, 400), ops_summary(10, 40), ops_summary(12, 40), ops_summary(14, 40)]
    own = value(14 / 40, 40)
    [v] = rule_values(r, settings_of(r), w(3), [own], history(*parts))
    # the last three windows hold 120 >= 100 records: 36 errors of 120, not the quiet hour
    assert (v.value, v.n, v.pooled_from) == (pytest.approx(36 / 120), 120, w(1).start)
    assert v.ci_low is not None and v.ci_low < v.value < v.ci_high


@pytest.mark.parametrize(("min_n", "outcome"), [(120, "breach"), (121, "not_enough_data")])
def test_min_n_applies_to_the_pooled_n(min_n, outcome):
    r = rule(min_n=min_n, over="3h", threshold=0.2)
    parts = [ops_summary(10, 40), ops_summary(12, 40), ops_summary(14, 40)]
    values = rule_values(r, settings_of(r), w(2), [value(0.35, 40)], history(*parts))
    [ev] = evaluate_rules([r], values)
    assert ev.outcome == outcome


def test_auto_stops_at_max_over():
    r = rule(min_n=1000, over="auto", max_over="2h")
    parts = [ops_summary(5, 500), ops_summary(5, 50), ops_summary(5, 50)]
    [v] = rule_values(r, settings_of(r), w(2), [value(0.1, 50)], history(*parts))
    assert (v.n, v.pooled_from) == (100, w(1).start)  # the 500 of window 0 are too old
    assert evaluate_rules([r], [v])[0].outcome == "not_enough_data"


def test_a_fixed_over_pools_exactly_that_lookback():
    r = rule(min_n=1, over="2h")
    parts = [ops_summary(100, 100), ops_summary(0, 100), ops_summary(10, 100)]
    [v] = rule_values(r, settings_of(r), w(2), [value(0.1, 100)], history(*parts))
    assert (v.value, v.n) == (pytest.approx(10 / 200), 200)


def test_pooled_quantiles_come_from_the_merged_sketches():
    r = rule(metric="latency_p95_ms", min_n=300, over="auto", op=">", threshold=1000)
    rng = np.random.default_rng(0)
    chunks = [rng.lognormal(6, 0.5, 120) for _ in range(3)]
    parts = [ops_summary(0, 120, list(c)) for c in chunks]
    own = MetricValue("rel", "*", "latency_p95_ms", float(np.quantile(chunks[-1], 0.95)), 120)
    [v] = rule_values(r, settings_of(r), w(2), [own], history(*parts))
    exact = np.quantile(np.concatenate(chunks), 0.95)
    assert v.n == 360 and v.value == pytest.approx(exact, rel=0.02)


def test_an_open_alerts_group_is_evaluated_on_pooled_data_without_traffic_now():
    r = rule(min_n=50, over="auto")
    hist = history(ops_summary(0, 60), group=("rel", "region=eu"))
    # region=eu had no record this window, but its alert can still resolve on the last hour
    values = rule_values(r, settings_of(r), w(1), [], hist, open_groups={("rel", "region=eu")})
    assert [(v.cohort, v.value, v.n) for v in values] == [("region=eu", 0.0, 60)]
    assert rule_values(r, settings_of(r), w(1), [], hist) == []


def test_metrics_that_do_not_pool_are_the_windows_own():
    r = rule(metric="drift.input_length", op=">=", threshold=1, over="6h")
    own = MetricValue("rel", "*", "drift.input_length", 1.0, 300)
    assert rule_values(r, settings_of(r), w(1), [own], History({})) == [own]


def test_a_firing_alert_resolves_on_enough_records_not_on_a_lucky_few():
    """A significant rate may open on ten records; ten good ones at night do not resolve it:
    the firing group pools until the point threshold's min_n (30 for a pass rate)."""
    r = rule(metric="eval.groundedness", op="<", threshold=0.85, min_n=None, significance=True)
    settings = settings_of(r)
    assert (settings.min_n, settings.needed(firing=True)) == (10, 30)

    def evals(passes: list[tuple[int, int]]) -> Summary:
        return Summary(
            {
                "eval.groundedness.random_n": sum(n for _, n in passes),
                "eval.groundedness.random_pass": sum(p for p, _ in passes),
            }
        )

    hist = History(
        {
            ("rel", "*"): [
                (w(0).start, evals([(7, 10)])),
                (w(1).start, evals([(6, 10)])),
                (w(2).start, evals([(10, 10)])),
            ]
        }
    )
    own = MetricValue("rel", "*", "eval.groundedness", 1.0, 10)
    group = {("rel", "*")}
    [quiet] = rule_values(r, settings, w(2), [own], hist, group, firing_groups=group)
    # pooled back over the three hours: 23 of 30 pass, still below 85%: not resolved
    assert (quiet.n, quiet.value) == (30, pytest.approx(23 / 30))
    [alone] = rule_values(r, settings, w(2), [own], hist, group)
    assert alone is own  # a pending alert (or none) looks at the window alone


@pytest.mark.parametrize(
    ("op", "threshold", "hits", "persistence", "worth"),
    [
        # against 5% on 100 records: 13 errors (p 0.0015) are significant, one breach of two;
        # 14 (p 0.00046, under 2.5% squared) stand for both
        (">", 0.05, 13, 2, 1),
        (">", 0.05, 14, 2, 2),
        # for: 3 asks for 2.5% cubed (0.0016%): 16 (p 0.000037) are one breach, 17 all three
        (">", 0.05, 16, 3, 1),
        (">", 0.05, 17, 3, 3),
        # a pass rate under 85%: 72 passes in 100 (p 0.00061) stand for two, 73 (0.0014) not
        ("<", 0.85, 72, 2, 2),
        ("<", 0.85, 73, 2, 1),
        # for: 1 has nothing to stand for
        (">", 0.05, 40, 1, 1),
    ],
)
def test_a_breach_is_worth_all_of_for_only_at_the_level_for_asks_of_them_together(
    op, threshold, hits, persistence, worth
):
    r = rule(op=op, threshold=threshold, significance=True, **{"for": persistence})
    [ev] = evaluate_rules([r], [value(hits / 100, 100, low=0.0, high=1.0)])
    assert ev.outcome == "breach"
    assert ev.evidence == worth


def test_a_point_threshold_has_no_test_to_be_strong_on():
    """Without `significance` (or for a quantile) a breach is one breach, however far past;
    so is a rate stored without an interval, which `breaches` compares by its point value."""
    [ev] = evaluate_rules([rule(**{"for": 2})], [value(0.9, 1000, low=0.88, high=0.92)])
    assert (ev.outcome, ev.evidence) == ("breach", 1)
    sig = rule(**{"for": 2}, significance=True)
    [ev] = evaluate_rules([sig], [value(0.9, 1000)])
    assert (ev.outcome, ev.evidence) == ("breach", 1)


def test_a_breach_strong_enough_for_all_of_for_opens_at_once_and_a_pending_one_too():
    sig = rule(**{"for": 2}, significance=True)
    strong = value(0.2, 100, low=0.13, high=0.29)  # 20 in 100 against 5%: p 2e-8
    significant = value(0.12, 100, low=0.06, high=0.2)  # p 0.004: one breach
    assert run(sig, [(0.2, 100, "*", 0.13, 0.29)]) == ["opened"]
    state: dict = {}
    events = []
    for i, v in enumerate([significant, strong]):
        for t in apply_evaluations("mon", state, evaluate_rules([sig], [v]), w(i), T):
            state[t.alert.fingerprint] = t.alert
            events.append(t.event)
    assert events == ["pending", "opened"]
    [alert] = state.values()
    assert alert.first_window_start == w(0).start and alert.breaches == 2


def test_each_reopen_soon_after_a_resolve_doubles_the_normal_time_the_next_resolve_needs():
    r = rule()
    B, K = BREACH, OK
    assert run(r, [B, K, B, K, K, B, K, K, K, K]) == [
        "opened",
        "resolved",  # at once: it never flapped
        "reopened",  # within a day: a flap, the next resolve needs 2 normal windows
        "firing",
        "resolved",
        "reopened",  # a second in a row: 4
        "firing",
        "firing",
        "firing",
        "resolved",
    ]


def test_a_reopen_after_a_quiet_day_starts_over_and_an_explicit_hold_is_kept():
    r = rule()
    quiet = [None] * 24  # a day and an hour between the resolve and the next breach
    events = run(r, [BREACH, OK, BREACH, OK, OK, *quiet, BREACH, OK])
    assert events[-2:] == ["reopened", "resolved"]  # not a flap: resolves at once again
    explicit = rule(keep_firing_for="0s")  # the rule says how long: exactly that
    assert run(explicit, [BREACH, OK, BREACH, OK, BREACH, OK]) == [
        "opened",
        "resolved",
        "reopened",
        "resolved",
        "reopened",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("flaps", "size", "hold"),
    [
        (0, H, None),
        (1, H, 2 * H),
        (3, H, 8 * H),
        (5, H, 24 * H),  # at most a day
        (40, H, 24 * H),
        (1, 24 * H, 48 * H),  # daily windows: two of them
    ],
)
def test_the_flap_hold_doubles_up_to_a_day(flaps, size, hold):
    assert flap_hold(flaps, size) == hold
