"""init's spend rule: the mean cost per request (or completion tokens) against the previous
release, per cohort; and the rule as init writes it opens on a release that doubles what each
answer costs, through run_window, and stays quiet on one that costs the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from tests.conftest import T0, make_requests, rules_only_context

from lookout.pipeline import Context, run_window
from lookout.services.init import Proposal, Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_yaml import render_monitors
from lookout.windows import Window

NOW = datetime(2026, 12, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _propose(frame: pd.DataFrame, **kw) -> Proposal:
    kinds = {"i": "integer", "f": "number", "M": "timestamp"}
    columns = [ColumnInfo(c, "T", kinds.get(frame[c].dtype.kind, "text")) for c in frame]  # type: ignore[arg-type]
    traffic = Traffic(100.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="t", **kw)


def _sample(n: int = 2000, **extra) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "ts": pd.Series(pd.date_range(NOW - timedelta(days=1), NOW, periods=n)),
            "route": rng.choice(["faq", "search"], n),
            "status": rng.choice(["ok", "error"], n, p=[0.97, 0.03]),
            **{k: v(rng, n) for k, v in extra.items()},
        }
    )


def _cost(rng, n):
    return rng.lognormal(-7, 0.8, n)


def _model(rng, n):
    return rng.choice(["gpt-a", "gpt-b"], n)


def _tokens(rng, n):
    return rng.integers(20, 400, n)


@pytest.mark.parametrize(
    ("extra", "name", "metric", "kind"),
    [
        ({"cost_usd": _cost, "model": _model}, "spend_vs_previous_release", "cost", "prev"),
        ({"cost_usd": _cost}, "spend_vs_own_history", "cost", "history"),
        ({"output_tokens": _tokens, "model": _model}, "spend_vs_previous_release", "tok", "prev"),
    ],
)
def test_init_proposes_a_spend_rule_against_the_previous_release(extra, name, metric, kind):
    proposal = _propose(_sample(**extra))
    [rule] = [r for r in proposal.rules if r.name.startswith("spend_")]
    assert rule.name == name
    wanted = "cost_per_request_usd" if metric == "cost" else "completion_tokens_mean"
    assert (rule.metric, rule.op, rule.threshold, rule.min_n) == (wanted, ">", 0.5, 100)
    assert rule.reference == ("{kind: previous_release}" if kind == "prev" else "{kind: history}")
    assert rule.split_by == ("*", "route")


def test_no_spend_rule_without_a_cost_or_token_column():
    assert not [r for r in _propose(_sample()).rules if r.name.startswith("spend_")]


def _spend_rule_yaml() -> str:
    """The spend rule exactly as init writes it into monitors.yml."""
    proposal = _propose(_sample(cost_usd=_cost, model=_model), owner="team")
    text = render_monitors(proposal, NOW)
    lines = text.splitlines()
    start = lines.index("      - name: spend_vs_previous_release")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if line.startswith("      - ") or not line.startswith("        "):
            break
        block.append(line)
    return "\n".join(block) + "\n"


def _releases_frame(factor: float) -> pd.DataFrame:
    """m1 for six hours, then m2 (costing `factor` times as much) for six; 100 rows an hour."""
    frame = make_requests(hours=12, per_hour=100, seed=9)
    ts = pd.to_datetime(frame["event_time"])
    second = (ts - pd.Timestamp(T0.replace(tzinfo=None))) >= pd.Timedelta(hours=6)
    frame["model_version"] = np.where(second, "m2", "m1")
    frame["prompt_version"] = "p1"
    frame["cost_usd"] = np.where(second, frame["cost_usd"] * factor, frame["cost_usd"])
    frame["status"] = "ok"
    return frame


def _ctx(tmp_path, frame: pd.DataFrame) -> Context:
    return rules_only_context(tmp_path, frame, _spend_rule_yaml())


@pytest.mark.parametrize(("factor", "opens"), [(2.0, True), (1.0, False)])
def test_the_spend_rule_init_writes_opens_on_a_release_that_doubles_the_cost(
    tmp_path, factor, opens
):
    ctx = _ctx(tmp_path, _releases_frame(factor))
    monitor = ctx.config.monitors.monitors[0]
    opened: list[tuple[int, str, str]] = []
    try:
        for i in range(12):
            result = run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H))
            assert result.status == "succeeded", result.error
        opened = [(a.release, a.cohort, a.state) for a in ctx.store.alerts("bot")]
    finally:
        ctx.close()
    if not opens:
        assert [a for a in opened if a[2] == "firing"] == []
        return
    firing = {(release, cohort) for release, cohort, state in opened if state == "firing"}
    assert ("m2@p1", "*") in firing
    # every route of the new release doubled too, each against the same route before: one
    # change of the whole release, folded into its one alert (`alerting.fold`)
    assert {c for r, c in firing if r == "m2@p1"} == {"*"}
