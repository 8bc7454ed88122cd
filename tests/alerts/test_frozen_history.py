"""An open alert's own-history reference ends where the alert started: a regression that goes on
is not absorbed into "its own normal" and resolved while it lasts (a trial's slower canary
resolved 34 hours in), and it still resolves once its records are back to what they were."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from tests.conftest import T0, make_requests, rules_only_context

from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

DAY = timedelta(days=1)
RULES = """
      - name: slower_than_usual
        metric: latency_p50_ms
        op: ">"
        threshold: 0.4
        reference: {kind: history, lookback: 3d}
        severity: P1
        owner: team
        split_by: ["*"]
"""


def _daily(tmp_path, slow_days: range):
    """12 days of one release at a median of ~1.1 s, twice as slow on `slow_days`, judged in
    daily windows."""
    frame = make_requests(hours=24 * 12, per_hour=20, seed=4)
    frame["model_version"], frame["prompt_version"] = "m1", "p1"
    day = ((frame["event_time"] - frame["event_time"].min()).dt.days).to_numpy()
    frame["latency_ms"] = (
        np.where(np.isin(day, list(slow_days)), 2.0, 1.0)
        * 1100.0
        * (np.random.default_rng(5).lognormal(0, 0.3, len(frame)))
    )
    rules_only_context(tmp_path, frame, RULES)
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(
        monitors.read_text().replace("size: 1h, grace: 10m", "size: 1d, grace: 10m")
    )
    return Context.from_config(load_config(tmp_path / "cfg" / "profiles.yml", monitors))


def _states(ctx, days: int) -> list[str]:
    """The alert's state after each daily window."""
    monitor = ctx.config.monitors.monitors[0]
    out = []
    for k in range(days):
        result = run_window(ctx, monitor, Window(T0 + k * DAY, T0 + (k + 1) * DAY))
        assert result.status == "succeeded", result.error
        alerts = [a for a in ctx.store.alerts("bot") if a.rule == "slower_than_usual"]
        out.append(alerts[0].state if alerts else "-")
    return out


def test_a_regression_that_goes_on_stays_firing(tmp_path):
    states = _states(_daily(tmp_path, range(6, 12)), 12)
    assert states[:6] == ["-"] * 6  # days 0-5: no history yet, then the usual
    assert states[6:8] == ["pending", "firing"]  # `for: 2`
    # days 8-11: the trailing 3 days are the incident's own; judged against days 3-5 it fires
    assert states[8:] == ["firing"] * 4


def test_it_resolves_once_the_records_are_back_to_before(tmp_path):
    states = _states(_daily(tmp_path, range(6, 9)), 12)  # slow on days 6-8 only
    assert states[6:9] == ["pending", "firing", "firing"]
    assert "resolved" in states[9:12]  # keep_firing_for: two normal windows
