"""The evaluator stage through `run_window`: real DuckDB, real judge client, fake endpoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML, T0, make_requests, text_monitor_yaml, write_table
from tests.fake_openai import FakeOpenAI, Scripted

from lookout.checks.evaluators.base import Budget
from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)
WINDOW = Window(T0, T0 + H)

EVALUATORS = """
    evaluators:
      enabled: true
      sampling: {{share: {share}, latency_quantile: 0.99, max_records: {max_records}}}
      budget: {{max_judgments: {max_judgments}}}
      checks:
        - {{name: judge_g, kind: llm, evaluator: groundedness, threshold: 0.5}}
        - {{name: pii, sample: all}}
"""

JUDGE = """    judge:
      base_url: "{base_url}"
      model: fake-judge
      api_key: "{{{{ env_var('TEST_JUDGE_KEY') }}}}"
      max_retries: {retries}
      timeout_s: 2
      concurrency: 4
      prices: {{fake-judge: {{input_per_1m: 1.0, output_per_1m: 2.0}}}}
"""


def _frame():
    frame = make_requests(hours=2, per_hour=200)
    rng = np.random.default_rng(3)
    frame["plan"] = rng.choice(["free", "pro", "team", "enterprise"], len(frame))
    frame["channel"] = rng.choice(["web", "api", "slack"], len(frame))
    grounded = rng.random(len(frame)) < 0.8
    frame["ctx"] = "Pro allows 600 requests per minute."
    frame["answer"] = np.where(grounded, "600 requests per minute", "unlimited requests")
    frame.loc[3, "answer"] = "mail me at jane.doe@example.com"  # fails the `all` pii check
    return frame


def _ctx(
    tmp_path: Path,
    fake: FakeOpenAI,
    monkeypatch,
    *,
    share=0.1,
    max_judgments=None,
    retries=1,
    max_records=None,
    cohorts="[route, region]",
):
    monkeypatch.setenv("TEST_JUDGE_KEY", fake.api_key)
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    monitors = text_monitor_yaml(
        0.9,
        EVALUATORS.format(
            share=share, max_judgments=max_judgments or "null", max_records=max_records or "null"
        ),
    ).replace("cohorts: [route, region]", f"cohorts: {cohorts}")
    (tmp_path / "monitors.yml").write_text(monitors)
    profiles = PROFILES_YAML.format(
        warehouse=warehouse,
        store=f"sqlite:///{tmp_path / 'results.sqlite'}",
        out_dir=tmp_path / "out",
    ) + JUDGE.format(base_url=fake.base_url, retries=retries)
    (tmp_path / "profiles.yml").write_text(profiles)
    return Context.from_config(load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml"))


class _M:
    def __init__(self, row):
        self.value, self.n = row["value"], row["n"]
        self.ci_low, self.ci_high = row["ci_low"], row["ci_high"]

    def __eq__(self, other):
        return vars(self) == vars(other)


def _metrics(ctx, name):
    return {(m["release"], m["cohort"]): _M(m) for m in ctx.store.metrics("bot", metric=name)}


def test_judges_the_failure_biased_sample_once_and_reuses_it_on_rerun(
    tmp_path, fake_openai, monkeypatch
):
    ctx = _ctx(tmp_path, fake_openai, monkeypatch)
    monitor = ctx.config.monitors.monitors[0]
    first = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert first.status == "succeeded", first.error
    sent = len(fake_openai.requests)
    judged = [j for j in ctx.store.judgments("bot", "judge_g") if j["status"] == "judged"]
    assert sent == len(judged) > 0
    # every error record and the pii failure are in the sample, plus ~10% of the rest
    frame = _frame()
    in_window = frame[frame.event_time < (T0 + H).replace(tzinfo=None)]
    errors = set(in_window.loc[in_window.status != "ok", "request_id"])
    judged_ids = {j["record_id"] for j in judged}
    assert errors <= judged_ids and "r000003" in judged_ids
    assert len(judged_ids) < 0.5 * len(in_window)
    assert first.judge_cost_usd > 0 and first.judge_cached == 0
    rates = _metrics(ctx, "eval.judge_g")
    assert {k[0] for k in rates} == {"m1@p1", "m2@p2"}
    for metric in rates.values():
        assert 0 <= metric.ci_low <= metric.value <= metric.ci_high <= 1
    pii = _metrics(ctx, "eval.pii")
    assert sum(m.n for (r, c), m in pii.items() if c == "*") == len(in_window)  # sample: all

    fake_openai.reset_counters()
    again = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert again.status == "succeeded"
    assert fake_openai.requests == []  # zero requests the second time
    assert again.judged == 0 and again.judge_cached == first.judged + first.judge_cached
    assert _metrics(ctx, "eval.judge_g") == rates
    ctx.close()


def test_a_large_window_sends_only_max_records_to_the_judge(tmp_path, fake_openai, monkeypatch):
    ctx = _ctx(tmp_path, fake_openai, monkeypatch, share=1.0, max_records=40)
    result = run_window(ctx, ctx.config.monitors.monitors[0], WINDOW, as_of=T0 + 3 * H)
    assert result.status == "succeeded", result.error
    judged = [j for j in ctx.store.judgments("bot", "judge_g") if j["status"] == "judged"]
    # ~200 records in the window; about 40 go to the judge (rounding: one per stratum at most)
    assert 40 <= len(fake_openai.requests) == len(judged) <= 40 + 12
    pii = _metrics(ctx, "eval.pii")  # `sample: all` checks are not thinned
    assert sum(m.n for (r, c), m in pii.items() if c == "*") == result.rows
    ctx.close()


def test_the_budget_stops_judging_cleanly_and_says_so(tmp_path, fake_openai, monkeypatch):
    ctx = _ctx(tmp_path, fake_openai, monkeypatch, max_judgments=5)
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert result.status == "succeeded"
    assert len(fake_openai.requests) == 5
    assert result.judge_budget_exhausted == "max_judgments"
    stored = ctx.store.judgments("bot", "judge_g")
    assert len([j for j in stored if j["status"] == "judged"]) == 5  # budget skips not cached
    assert sum(m.n for (r, c), m in _metrics(ctx, "eval.judge_g").items() if c == "*") <= 5
    # the next run (a new context = a new flow run and budget) judges only what is missing
    ctx.close()
    fake_openai.reset_counters()
    ctx = Context.from_config(ctx.config)
    ctx._budgets["bot"] = Budget()  # a roomier budget for this flow run
    result = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert result.judge_cached >= 5 and result.judge_budget_exhausted is None
    assert len(fake_openai.requests) == result.judged
    ctx.close()


def test_judge_errors_are_errors_not_fails_and_are_retried_next_run(
    tmp_path, fake_openai, monkeypatch
):
    ctx = _ctx(tmp_path, fake_openai, monkeypatch, retries=0)
    monitor = ctx.config.monitors.monitors[0]
    fake_openai.reply(*[Scripted(status=500) for _ in range(1000)])
    result = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert result.status == "succeeded"
    assert result.judge_errors == len(fake_openai.requests) > 0  # one per attempted judgment
    assert _metrics(ctx, "eval.judge_g") == {}  # no pass rate from errors
    errors = _metrics(ctx, "eval_errors.judge_g")
    assert errors and all(m.value == 1.0 for m in errors.values())
    assert [j for j in ctx.store.judgments("bot", "judge_g")] == []  # errors are not cached
    # the monitor's owner hears that its judge is failing (a built-in P2 rule)
    judge_alerts = [a for a in ctx.store.alerts("bot") if a.rule == "judge_errors_judge_g"]
    assert sorted((a.release, a.state, a.severity, a.owner, a.value) for a in judge_alerts) == [
        ("m1@p1", "firing", "P2", "team", 1.0),
        ("m2@p2", "firing", "P2", "team", 1.0),
    ]
    fake_openai.script.clear()
    fake_openai.reset_counters()
    again = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    assert again.judge_errors == 0 and len(fake_openai.requests) == result.judge_errors
    assert _metrics(ctx, "eval.judge_g")
    ctx.close()


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_share_bounds(tmp_path, fake_openai, monkeypatch, share):
    ctx = _ctx(tmp_path, fake_openai, monkeypatch, share=share)
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H)
    frame = _frame()
    rows = int((frame.event_time < (T0 + H).replace(tzinfo=None)).sum())
    if share == 1.0:
        assert len(fake_openai.requests) == rows
    else:  # only flagged records: errors, latency outliers, the pii failure
        assert 0 < len(fake_openai.requests) < 0.2 * rows
        assert _metrics(ctx, "eval.judge_g") == {}  # no random sample: no unbiased pass rate
        assert _metrics(ctx, "eval_flagged.judge_g")
    assert result.status == "succeeded"
    ctx.close()


def test_four_cohort_columns_keep_the_sample_near_its_share(tmp_path, fake_openai, monkeypatch):
    """Each cohort column stratifies the random part on its own: with four of them a window's
    cross product has about one record per cell, and a minimum per cell sent ~80% of a window
    to the judge at a 20% share. Every value of every column still gets a pass rate."""
    cohorts = ["route", "region", "plan", "channel"]
    ctx = _ctx(tmp_path, fake_openai, monkeypatch, share=0.2, cohorts=f"[{', '.join(cohorts)}]")
    monitor = ctx.config.monitors.monitors[0]
    assert run_window(ctx, monitor, WINDOW, as_of=T0 + 3 * H).status == "succeeded"
    frame = _frame()
    in_window = frame[frame.event_time < (T0 + H).replace(tzinfo=None)]
    # ~20% at random, plus the flagged (errors ~5%, latency outliers 1%, the pii failure)
    assert len(fake_openai.requests) < 0.4 * len(in_window)
    rates = _metrics(ctx, "eval.judge_g")
    for column in cohorts:
        for release, values in in_window.groupby("model_version")[column]:
            for value in set(values):
                assert (f"{release}@p{release[1:]}", f"{column}={value}") in rates
    ctx.close()
