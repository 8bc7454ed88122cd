"""`lookout init` on two more tables trials met: a classic model's scoring log (a success flag,
a latency named in microseconds, a measure named like a route) and a proxy's spend log whose
team is logged twice (two cohorts that say the same thing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from lookout.services.init import Proposal, Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_mapping import MAX_COHORTS

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KINDS = {"i": "integer", "f": "number", "M": "timestamp", "b": "boolean"}


def _propose(frame: pd.DataFrame) -> Proposal:
    columns = [ColumnInfo(n, "T", KINDS.get(frame[n].dtype.kind, "text")) for n in frame.columns]  # type: ignore[arg-type]
    traffic = Traffic(400.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="t")


def _times(n: int) -> pd.Series:
    return pd.Series(pd.date_range(NOW - timedelta(hours=20), NOW, periods=n))


def test_a_scoring_log_gets_its_success_flag_latency_unit_and_no_measure_as_route():
    rng = np.random.default_rng(8)
    n = 800
    frame = pd.DataFrame(
        {
            "prediction_id": np.arange(n),
            "scored_at": _times(n),
            "model_version": rng.choice(["2024.11.3", "2024.12.1"], n),
            "channel": rng.choice(["web", "app", "pos"], n),
            "feature_store_ms": rng.integers(9, 13, n),  # few values: still a measure
            "inference_us": rng.lognormal(8.7, 0.3, n).round().astype(int),  # ~6 ms
            "ok": rng.random(n) < 0.99,
        }
    )
    proposal = _propose(frame)
    columns = proposal.columns
    assert columns["status"] == "ok" and proposal.ok_statuses == ("1",)
    assert columns["latency_ms"] == "inference_us" and proposal.units["latency_ms"] == "us"
    assert "route" not in columns and "feature_store_ms" not in proposal.cohorts
    assert "channel" in proposal.cohorts
    assert any(rule.metric == "error_rate" for rule in proposal.rules)


def test_two_columns_that_name_one_team_are_one_cohort_and_the_next_takes_its_place():
    rng = np.random.default_rng(9)
    n = 800
    teams = rng.choice(["t-1", "t-2", "t-3"], n)
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "created_at": _times(n),
            "status": rng.choice(["success", "failure"], n, p=[0.98, 0.02]),
            "team_id": teams,
            "team_alias": pd.Series(teams).map({"t-1": "search", "t-2": "ads", "t-3": "chat"}),
            "region": rng.choice(["eu", "us"], n),
            "plan": rng.choice(["free", "pro"], n),
            "tier": rng.choice(["a", "b", "c"], n),
            "cache_hit": rng.choice(["True", "False"], n),
        }
    )
    proposal = _propose(frame)
    chosen = proposal.cohorts
    assert len(chosen) == MAX_COHORTS
    assert ("team_id" in chosen) != ("team_alias" in chosen)  # one of the twins
    roles = {r.column: r.reason for r in proposal.roles}
    twin = "team_alias" if "team_id" in chosen else "team_id"
    assert "map one to one onto" in roles[twin]
    left = [c for c in ("region", "plan", "tier", "cache_hit") if c not in chosen]
    assert len(left) == 1 and "cohorts kept to 4" in roles[left[0]]  # the twin made room
