"""A change rule against the previous release compares a new version of a model with the old
version of the same model, through run_window: with model@version releases every model's old
version appears in the same first window, and the latest by name was taken (a new gpt-4o was
compared with gpt-4o-mini's old version, and paged on cost until the next release)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.conftest import T0, make_requests, rules_only_context, run_hours

RULE = """
      - name: spend
        metric: cost_per_request_usd
        op: ">"
        threshold: 0.5
        min_n: 50
        reference: {kind: previous_release}
        severity: P2
        owner: team
        split_by: ["*"]
"""


def _frame() -> pd.DataFrame:
    """Two models (big costs 20x small) on v1 from T0; both move to v2 at T0+4h, costs as
    before."""
    frame = make_requests(hours=8, per_hour=200, seed=21)
    ts = pd.to_datetime(frame["event_time"])
    late = (ts - pd.Timestamp(T0.replace(tzinfo=None))) >= pd.Timedelta(hours=4)
    big = np.random.default_rng(2).random(len(frame)) < 0.5
    frame["model_version"] = np.where(big, "big", "small")
    frame["prompt_version"] = np.where(late, "v2", "v1")
    frame["cost_usd"] = np.where(big, 0.02, 0.001)
    frame["status"] = "ok"
    return frame


def test_a_new_version_is_compared_with_the_old_version_of_its_own_model(tmp_path):
    ctx = rules_only_context(tmp_path, _frame(), RULE)
    try:
        run_hours(ctx, 8)
        alerts = ctx.store.alerts("bot")
    finally:
        ctx.close()
    # big@v2 costs what big@v1 did: no alert (it was compared with small@v1: 20x)
    assert [(a.release, a.state) for a in alerts] == []
