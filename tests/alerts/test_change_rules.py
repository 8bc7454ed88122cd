"""Change rules (against the previous release or a pinned baseline), severity changes, and
alerts a P0 held back announced once it resolves: pure math at the boundaries, then through
`run_window` on a real warehouse and the real slack-sdk client against the fake Slack API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from tests.alerts.test_rules import rule, value
from tests.conftest import T0
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN
from tests.test_pipeline import _ctx

from lookout.alerts.lifecycle import apply_evaluations
from lookout.alerts.references import reference_period, rule_references
from lookout.alerts.rules import Reference, evaluate_rules
from lookout.config.models import AlertRule
from lookout.core.summary import Summary
from lookout.model.families.pooling import pool
from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import compose_digests, deliver
from lookout.pipeline import run_window
from lookout.store.results import ResultsStore
from lookout.store.summary_rows import replace_summaries
from lookout.windows import Window

H = timedelta(hours=1)
REF = Reference(0.02, 1000, "release v1")


def change_rule(**overrides) -> AlertRule:
    base = {"reference": {"kind": "previous_release", "change": "absolute"}, "min_n": 100}
    return rule(**{**base, **overrides})


def _evaluate(r: AlertRule, v, ref: Reference | None = REF):
    refs = {} if ref is None else {(r.name, "rel", v.cohort): ref}
    [ev] = evaluate_rules([r], [v], refs)
    return ev


@pytest.mark.parametrize(
    ("change", "v", "outcome", "threshold"),
    [
        ("absolute", 0.07, "ok", 0.07),  # 2% + 5 points: equal is not past ">"
        ("absolute", 0.0701, "breach", 0.07),
        ("relative", 0.021, "ok", 0.021),  # 2% * (1 + 5%)
        ("relative", 0.0211, "breach", 0.021),
    ],
)
def test_change_threshold_boundary(change, v, outcome, threshold):
    r = change_rule(reference={"kind": "previous_release", "change": change})
    ev = _evaluate(r, value(v, 100))
    assert ev.outcome == outcome
    assert ev.threshold == pytest.approx(threshold) and ev.reference == REF


def test_a_drop_is_a_negative_allowed_change():
    r = change_rule(op="<", threshold=-0.1, metric="eval.groundedness")
    ref = Reference(0.9, 500, "release v1")
    ev = _evaluate(r, value(0.79, 100, metric="eval.groundedness"), ref)
    assert ev.outcome == "breach" and ev.threshold == pytest.approx(0.8)
    assert _evaluate(r, value(0.81, 100, metric="eval.groundedness"), ref).outcome == "ok"


@pytest.mark.parametrize(("ref_n", "outcome"), [(99, "not_enough_data"), (100, "breach")])
def test_the_reference_needs_min_n_too(ref_n, outcome):
    ev = _evaluate(change_rule(), value(0.5, 100), Reference(0.02, ref_n, "release v1"))
    assert ev.outcome == outcome


def test_without_a_reference_a_change_rule_has_not_enough_data():
    assert _evaluate(change_rule(), value(0.5, 1000), None).outcome == "not_enough_data"


def test_significance_against_the_reference():
    r = change_rule(significance=True)
    # a reference of 2% on 100,000 records: its exact high bound 2.09%, so the low bound of
    # the current rate must clear 7.09%. 14/100: Clopper-Pearson low 7.9%; 12/100: 6.4%
    # (Wilson's 7.0% would have cleared it)
    big = Reference(0.02, 100_000, "release v1")
    just_past = value(0.14, 100, low=0.01, high=0.2)  # the decision ignores the stored bounds
    straddles = value(0.12, 100, low=0.0701, high=0.2)
    assert _evaluate(r, just_past, big).outcome == "breach"
    assert _evaluate(r, just_past, big).threshold == pytest.approx(0.0709, abs=2e-4)
    assert _evaluate(r, straddles, big).outcome == "inconclusive"


def test_with_significance_a_small_reference_is_uncertain_too():
    """The same 2% measured on 1,000 records may be 3.1% (its exact high bound): 14/100 is
    then not significantly 5 points above it, on 100,000 it is; for `<` the low bound counts."""
    r = change_rule(significance=True)
    current = value(0.14, 100, low=0.08, high=0.2)
    assert _evaluate(r, current, Reference(0.02, 1000, "v1")).outcome == "inconclusive"
    assert _evaluate(r, current, Reference(0.02, 1000, "v1")).threshold == pytest.approx(
        0.0807, abs=2e-4
    )
    assert _evaluate(r, current, Reference(0.02, 100_000, "v1")).outcome == "breach"
    drop = change_rule(op="<", threshold=-0.1, metric="eval.groundedness", significance=True)
    ref = Reference(0.9, 200, "v1")  # exact low bound 0.8498: the current must be below 0.7498
    ev = _evaluate(drop, value(0.7, 100, low=0.6, high=0.8, metric="eval.groundedness"), ref)
    assert ev.threshold == pytest.approx(0.7498, abs=1e-4)
    assert ev.outcome == "inconclusive"  # 70/100: exact high bound 0.788
    six = value(0.6, 100, low=0.5, high=0.7, metric="eval.groundedness")
    assert _evaluate(drop, six, ref).outcome == "breach"


def test_escalation_picks_the_most_severe_level_past_its_threshold():
    r = rule(
        threshold=0.05,
        severity="P2",
        escalate=[{"severity": "P1", "threshold": 0.1}, {"severity": "P0", "threshold": 0.2}],
    )
    assert _evaluate(r, value(0.06, 100), None).severity == "P2"
    assert _evaluate(r, value(0.1, 100), None).severity == "P2"  # equal: not past ">"
    assert _evaluate(r, value(0.11, 100), None).severity == "P1"
    assert _evaluate(r, value(0.21, 100), None).severity == "P0"
    r = change_rule(escalate=[{"severity": "P0", "threshold": 0.2}])  # levels move with the ref
    assert _evaluate(r, value(0.2201, 100)).severity == "P0"
    assert _evaluate(r, value(0.2199, 100)).severity == "P1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"escalate": [{"severity": "P0", "threshold": 0.01}]}, "further past 0.05"),
        ({"severity": "P0", "escalate": [{"severity": "P0", "threshold": 0.5}]}, "more severe"),
        ({"reference": {"kind": "baseline"}}, "needs start and end"),
    ],
)
def test_rule_config_errors_say_what_is_wrong(overrides, message):
    with pytest.raises(ValidationError, match=message):
        rule(**overrides)


def test_severity_change_is_a_transition_with_the_old_severity():
    r = rule(escalate=[{"severity": "P0", "threshold": 0.2}])
    w1, w2, w3 = (Window(T0 + i * H, T0 + (i + 1) * H) for i in range(3))
    [opened] = apply_evaluations("m", {}, evaluate_rules([r], [value(0.1, 100)]), w1, w1.end)
    state = {opened.alert.fingerprint: opened.alert}
    [up] = apply_evaluations("m", state, evaluate_rules([r], [value(0.3, 100)]), w2, w2.end)
    assert (up.event, up.alert.severity, up.previous_severity) == ("severity_changed", "P0", "P1")
    assert up.notifies
    state = {up.alert.fingerprint: up.alert}
    [down] = apply_evaluations("m", state, evaluate_rules([r], [value(0.1, 100)]), w3, w3.end)
    assert (down.event, down.alert.severity, down.previous_severity) == (
        "severity_changed",
        "P1",
        "P0",
    )


def test_pooling_rates_by_n_and_quantiles_by_median():
    assert pool("error_rate", [(0.1, 100), (0.0, 300)]) == (0.025, 400)
    assert pool("latency_p95_ms", [(100.0, 10), (900.0, 10), (300.0, 10)]) == (300.0, 30)
    assert pool("latency_p95_ms", [(100.0, 10), (300.0, 10)]) == (200.0, 20)
    assert pool("error_rate", []) is None


def test_the_previous_release_is_the_one_that_appeared_last_before():
    r = change_rule(reference={"kind": "previous_release", "lookback": "6h"})
    seen = {"v1": T0, "v2": T0 + 10 * H, "v3": T0 + 20 * H}
    window = Window(T0 + 21 * H, T0 + 22 * H)
    period = reference_period(r, "v3", seen, window)
    assert (period.release, period.start, period.end) == ("v2", T0 + 14 * H, T0 + 20 * H)
    assert reference_period(r, "v1", seen, window) is None  # nothing came before it
    new = reference_period(r, "v4", seen, window)  # not stored yet: appears in this window
    assert new.release == "v3" and new.end == window.start


# -- through run_window ------------------------------------------------------------------------


def _frame(hours: list[tuple[str, float, float]], per_region: int = 200) -> pd.DataFrame:
    """Per hour (release, eu error share, us error share); errors spread evenly (exact)."""
    parts = []
    for h, (release, eu, us) in enumerate(hours):
        for region, share in (("eu", eu), ("us", us)):
            k = np.arange(per_region)
            errors = round(share * per_region)
            status = np.where(k < errors, "error", "ok")
            ts = pd.Timestamp(T0.replace(tzinfo=None)) + h * H + pd.to_timedelta(k * 15, unit="s")
            parts.append(
                pd.DataFrame(
                    {
                        "request_id": [f"{h}{region}{i:05d}" for i in k],
                        "event_time": ts.astype("datetime64[us]"),
                        "ingested_at": (ts + pd.Timedelta(seconds=5)).astype("datetime64[us]"),
                        "model_version": release,
                        "prompt_version": "p1",
                        "route": "faq",
                        "region": region,
                        "latency_ms": 100.0 + k,
                        "ttft_ms": 30.0,
                        "prompt_tokens": 100,
                        "completion_tokens": 20,
                        "cost_usd": 0.001,
                        "status": status,
                        "is_fallback": False,
                        "retry_count": 0,
                        "feedback": None,
                        "session_id": [f"s{h}{region}{i}" for i in k],
                        "prompt": "hello",
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _with_rules(ctx, rules: list[dict]):
    monitor = ctx.config.monitors.monitors[0]
    return monitor.model_copy(
        update={
            "rules": [
                AlertRule(owner="team", **{"for": 1, "significance": False, **r}) for r in rules
            ]
        }
    )


def test_a_regression_against_the_previous_release_opens_escalates_and_threads(tmp_path):
    hours = [("m1", 0.02, 0.02), ("m1", 0.02, 0.02), ("m2", 0.15, 0.02), ("m2", 0.30, 0.02)]
    ctx = _ctx(tmp_path, frame=_frame(hours))
    monitor = _with_rules(
        ctx,
        [
            {
                "name": "errors_vs_previous",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.05,
                "min_n": 50,
                "split_by": ["region"],
                "reference": {"kind": "previous_release", "change": "absolute", "lookback": "2h"},
                "escalate": [{"severity": "P0", "threshold": 0.2}],
            }
        ],
    )
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        for h in range(3):
            run_window(ctx, monitor, Window(T0 + h * H, T0 + (h + 1) * H))
        [alert] = ctx.store.alerts("bot")  # m1 has no release before it; us does not regress
        assert (alert.release, alert.cohort, alert.severity) == ("m2@p1", "region=eu", "P1")
        assert alert.reference == pytest.approx(0.02) and alert.threshold == pytest.approx(0.07)
        assert "release m1@p1" in alert.reference_label
        deliver(ctx.store.outbox_repo, {"slack": notifier})
        run_window(ctx, monitor, Window(T0 + 3 * H, T0 + 4 * H))
        report = deliver(ctx.store.outbox_repo, {"slack": notifier})
    [alert] = ctx.store.alerts("bot")
    assert alert.severity == "P0"
    assert [r.kind for r in report.sent] == ["severity_change", "update"]
    original, reply = slack.posted
    assert "Reference" in str(original["blocks"]) and "m1@p1" in str(original["blocks"])
    assert reply["thread_ts"] == original["ts"]
    assert "escalated from P1" in reply["blocks"][0]["text"]["text"]
    [update] = slack.updated
    assert update["ts"] == original["ts"] and update["blocks"][0]["text"]["text"].startswith("[P0]")
    ctx.close()


def test_an_alert_a_p0_held_back_is_announced_when_the_p0_resolves(tmp_path):
    # hour 0: all traffic 20% errors (P0) and eu 30% (P1, inhibited); hour 1: overall 8%, eu 15%
    ctx = _ctx(tmp_path, frame=_frame([("m1", 0.30, 0.10), ("m1", 0.15, 0.01)]))
    monitor = _with_rules(
        ctx,
        [
            {
                "name": "outage",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.1,
                "severity": "P0",
                "split_by": ["*"],
                "min_n": 50,
            },
            {
                "name": "eu_errors",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.1,
                "severity": "P1",
                "split_by": ["region"],
                "min_n": 50,
            },
        ],
    )
    run_window(ctx, monitor, Window(T0, T0 + H))
    assert [r.kind for r in ctx.store.outbox()] == ["open"]  # the P0 only
    assert ctx.store.outbox_repo.thread_root(_fp(ctx, "eu_errors"), "slack") is None
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))
    rows = {r.kind: r for r in ctx.store.outbox() if r.fingerprint == _fp(ctx, "eu_errors")}
    assert set(rows) == {"open"}
    assert "eu_errors" in str(rows["open"].payload)
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))  # a re-run announces nothing twice
    assert len([r for r in ctx.store.outbox() if r.fingerprint == _fp(ctx, "eu_errors")]) == 1
    ctx.close()


def _fp(ctx, rule_name: str) -> str:
    [alert] = [a for a in ctx.store.alerts("bot") if a.rule == rule_name]
    return alert.fingerprint


def test_a_relative_change_of_a_zero_reference_is_not_enough_data():
    r = change_rule(reference={"kind": "previous_release", "change": "relative"})
    assert _evaluate(r, value(0.002, 100), Reference(0.0, 5000, "v1")).outcome == (
        "not_enough_data"
    )
    absolute = change_rule()  # an absolute change still works from 0
    assert _evaluate(absolute, value(0.08, 100), Reference(0.0, 5000, "v1")).outcome == "breach"


def test_counts_pool_as_a_mean_per_window():
    assert pool("request_count", [(100.0, 100), (10.0, 10)]) == (55.0, 110)
    assert pool("drift.latency_ms", [(1.0, 300), (0.0, 20), (1.0, 50)]) == (2 / 3, 370)


def test_a_p2_that_escalates_before_its_digest_is_announced_once(tmp_path):
    hours = [("m1", 0.02, 0.02), ("m1", 0.08, 0.02), ("m1", 0.30, 0.02)]
    ctx = _ctx(tmp_path, frame=_frame(hours))
    monitor = _with_rules(
        ctx,
        [
            {
                "name": "eu_errors",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.05,
                "severity": "P2",
                "min_n": 50,
                "split_by": ["region"],
                "escalate": [{"severity": "P1", "threshold": 0.2}],
            }
        ],
    )
    run_window(ctx, monitor, Window(T0, T0 + H))
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H))  # P2 opens: held for the digest
    [held] = ctx.store.outbox()
    assert held.digest_day == T0.date().isoformat() and held.group_id is None
    run_window(ctx, monitor, Window(T0 + 2 * H, T0 + 3 * H))  # escalates to P1
    [escalation] = [r for r in ctx.store.outbox() if r.message_id != held.message_id]
    assert escalation.kind == "open" and "escalated from P2" in str(escalation.payload)
    # the escalation is the opening now: the held message will never be sent
    assert ctx.store.outbox_row(held.message_id).status == "superseded"

    assert compose_digests(ctx.store.outbox_repo, T0 + timedelta(days=2)) == []  # none left
    with fake_slack_server() as slack:
        deliver(
            ctx.store.outbox_repo,
            {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)},
        )
    assert len(slack.posted) == 1 and "escalated from P2" in slack.posted[0]["text"]
    assert ctx.store.outbox(status="pending") == []
    ctx.close()


def test_a_backfill_without_notify_still_resolves_an_announced_alert(tmp_path):
    hours = [("m1", 0.30, 0.02), ("m1", 0.02, 0.02)]
    ctx = _ctx(tmp_path, frame=_frame(hours))
    monitor = _with_rules(
        ctx,
        [
            {
                "name": "eu",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.1,
                "min_n": 50,
                "split_by": ["region"],
            }
        ],
    )
    run_window(ctx, monitor, Window(T0, T0 + H))  # announced
    run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H), notify=False)  # a backfill resolves it
    kinds = sorted(r.kind for r in ctx.store.outbox())
    assert kinds == ["open", "resolve", "update"]
    ctx.close()


# -- the cohort's own history ------------------------------------------------------------------


def test_own_history_ends_where_the_rules_longest_pool_begins():
    """Before the longest pool (max_over 1d, or a fixed `over`), floored to a whole day (to
    the lookback when it is shorter), so every window of a day shares one period."""
    day = timedelta(days=1)
    r = change_rule(reference={"kind": "history"})  # max_over 1d, lookback 7d by default
    for hour in (239, 262):  # windows ending on day 10 (the first at its midnight)
        period = reference_period(r, "v9", {}, Window(T0 + hour * H, T0 + (hour + 1) * H))
        assert period.release is None  # every release of the cohort
        assert (period.start, period.end) == (T0 + 2 * day, T0 + 9 * day)
    assert period.label.startswith("own history 2026-")
    later = reference_period(r, "v9", {}, Window(T0 + 263 * H, T0 + 264 * H))
    assert (later.start, later.end) == (T0 + 3 * day, T0 + 10 * day)
    fixed = change_rule(reference={"kind": "history", "lookback": "2d"}, over="6h")
    period = reference_period(fixed, "v9", {}, Window(T0 + 240 * H, T0 + 241 * H))
    assert (period.start, period.end) == (T0 + 7 * day, T0 + 9 * day)
    short = change_rule(reference={"kind": "history", "lookback": "6h"}, max_over="2h")
    period = reference_period(short, "v9", {}, Window(T0 + 9 * H, T0 + 10 * H))
    assert (period.start, period.end) == (T0 + 0 * H, T0 + 6 * H)  # 8h floored to 6h
    assert change_rule(reference={"kind": "previous_release"}).reference.lookback == 24 * H


def test_a_cohort_past_its_own_history_alerts_without_any_release_before_it(tmp_path):
    """One release only (no previous release to compare with): eu's errors go from 2% to 15%
    in hours 8-9 and alert against eu's own hours 1-6, which never include the incident."""
    hours = [("m1", 0.02, 0.02)] * 8 + [("m1", 0.15, 0.02)] * 2
    ctx = _ctx(tmp_path, frame=_frame(hours))
    monitor = _with_rules(
        ctx,
        [
            {
                "name": "errors_vs_own_history",
                "metric": "error_rate",
                "op": ">",
                "threshold": 2.0,  # three times its own rate
                "significance": True,
                "max_over": "2h",
                "split_by": ["region"],
                "reference": {"kind": "history", "lookback": "6h"},
            }
        ],
    )
    for h in range(8):
        run_window(ctx, monitor, Window(T0 + h * H, T0 + (h + 1) * H))
    assert ctx.store.alerts("bot") == []
    opened = run_window(ctx, monitor, Window(T0 + 8 * H, T0 + 9 * H)).alerts_opened
    [alert] = ctx.store.alerts("bot")
    assert opened == (alert.fingerprint,)
    assert (alert.release, alert.cohort) == ("m1@p1", "region=eu")
    run_window(ctx, monitor, Window(T0 + 9 * H, T0 + 10 * H))
    [alert] = ctx.store.alerts("bot")
    assert alert.state == "firing" and alert.reference == pytest.approx(0.02)
    # 2% of 1,200 records: exact high bound 2.97%, times three
    assert alert.threshold == pytest.approx(3 * 0.0297, abs=1e-3)
    assert "own history" in alert.reference_label


def test_a_merged_history_is_reused_until_a_window_under_it_is_rewritten(tmp_path):
    """Every window of a day shares one merge of its history; a backfill that rewrites a
    window under it (a new run id) is seen by the next evaluation, not hidden by the cache."""
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")

    def write(hour: int, errors: int, run_id: str) -> None:
        summary = Summary(counts={"status_n": 100.0, "errors": float(errors)})
        with store.engine.begin() as conn:
            replace_summaries(
                conn,
                "m",
                T0 + hour * H,
                T0 + (hour + 1) * H,
                {("ops", "rel", "region=eu"): summary},
                ["ops"],
                run_id,
            )

    for hour in range(6):
        write(hour, 2, "first")
    r = change_rule(reference={"kind": "history", "lookback": "6h"}, max_over="1h")
    seen = [value(0.1, 100, cohort="region=eu")]
    before = rule_references(store, "m", [r], seen, Window(T0 + 7 * H, T0 + 8 * H))
    assert before[(r.name, "rel", "region=eu")].value == pytest.approx(0.02)
    assert before[(r.name, "rel", "region=eu")].n == 600
    write(3, 8, "backfill")
    after = rule_references(store, "m", [r], seen, Window(T0 + 8 * H, T0 + 9 * H))
    assert after[(r.name, "rel", "region=eu")].value == pytest.approx(18 / 600)
    store.dispose()


def _daily_cycle(days: int, night_incident_hour: int) -> list[tuple[str, float, float]]:
    """eu errors at 12% in hours 12-17 of every day (a load effect), 1% otherwise; on the last
    day, 8% at `night_incident_hour` (an incident at night)."""
    hours = []
    for h in range(days * 24):
        eu = 0.12 if 12 <= h % 24 <= 17 else 0.01
        if h == (days - 1) * 24 + night_incident_hour:
            eu = 0.08
        hours.append(("m1", eu, 0.01))
    return hours


def test_own_history_of_the_same_hours_sees_through_a_daily_cycle(tmp_path):
    """One region, two rules on one stored history: against the whole history an ordinary
    afternoon pages (12% against 3 x 3.75%) and the incident at night is hidden by the busier
    hours (8% under 11.25%); against the same hours of each day, the reverse."""
    ctx = _ctx(tmp_path, frame=_frame(_daily_cycle(3, 3), per_region=100))
    rules = [
        {
            "name": f"errors_vs_own_{hours}_hours",
            "metric": "error_rate",
            "op": ">",
            "threshold": 2.0,  # three times its own rate
            "max_over": "1h",
            "split_by": ["region"],
            "reference": {"kind": "history", "lookback": "2d", "hours": hours},
        }
        for hours in ("all", "same")
    ]
    monitor = _with_rules(ctx, rules)
    day = 24 * H
    for h in range(48):  # two days of history (ops metrics and their summaries)
        run_window(ctx, monitor, Window(T0 + h * H, T0 + (h + 1) * H), stages=())
    opened: dict[str, set[int]] = {
        "errors_vs_own_all_hours": set(),
        "errors_vs_own_same_hours": set(),
    }
    for hour in (3, 13):
        window = Window(T0 + 2 * day + hour * H, T0 + 2 * day + (hour + 1) * H)
        run_window(ctx, monitor, window, stages=())
        for alert in ctx.store.alerts("bot"):
            if alert.last_window_start == window.start and alert.state == "firing":
                opened[alert.rule].add(hour)
    alerts = {a.rule: a for a in ctx.store.alerts("bot")}
    ctx.close()
    assert opened == {"errors_vs_own_all_hours": {13}, "errors_vs_own_same_hours": {3}}
    assert {a.cohort for a in alerts.values()} == {"region=eu"}
    same, whole = alerts["errors_vs_own_same_hours"], alerts["errors_vs_own_all_hours"]
    assert same.reference == pytest.approx(0.01)
    assert same.reference_label.endswith("02:00–05:00 each day")
    assert whole.reference == pytest.approx((6 * 0.12 + 18 * 0.01) / 24)


def test_two_releases_side_by_side_are_each_compared_with_their_own_history(tmp_path):
    """A fast and a slow model served side by side (by plan): a pool of every release held the
    slow one "above its own history" on every clean hour of a user's table. A release with
    `min_n` records of its own in the period is compared with them; one without (new today,
    or with a handful) with the cohort's history, every release."""
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    with store.engine.begin() as conn:
        for hour in range(6):
            replace_summaries(
                conn,
                "m",
                T0 + hour * H,
                T0 + (hour + 1) * H,
                {
                    ("ops", "fast", "region=eu"): Summary(
                        counts={"status_n": 100.0, "errors": 2.0}
                    ),
                    ("ops", "slow", "region=eu"): Summary(
                        counts={"status_n": 100.0, "errors": 10.0}
                    ),
                    # no error at all: a relative change of 0 means nothing, the cohort decides
                    ("ops", "clean", "region=eu"): Summary(counts={"status_n": 100.0}),
                    # one record an hour: 6 in the period, under the records a resolve needs
                    ("ops", "rare", "region=eu"): Summary(counts={"status_n": 1.0, "errors": 1.0}),
                },
                ["ops"],
                f"run{hour}",
            )
    r = change_rule(
        reference={"kind": "history", "lookback": "6h", "change": "relative"},
        max_over="1h",
        significance=True,
    )
    seen = [
        replace(value(0.1, 100, cohort="region=eu"), release=release)
        for release in ("fast", "slow", "rare", "clean", "new")
    ]
    refs = rule_references(store, "m", [r], seen, Window(T0 + 7 * H, T0 + 8 * H))
    fast, slow = refs[(r.name, "fast", "region=eu")], refs[(r.name, "slow", "region=eu")]
    assert (fast.value, fast.n) == (pytest.approx(0.02), 600)
    assert (slow.value, slow.n) == (pytest.approx(0.10), 600)
    assert "own history of this release" in fast.label
    every = (12 + 60 + 6) / 1806  # all releases of the cohort
    for release in ("rare", "clean", "new"):
        ref = refs[(r.name, release, "region=eu")]
        assert (ref.value, ref.n) == (pytest.approx(every), 1806)
        assert "own history" in ref.label and "this release" not in ref.label
    store.dispose()
