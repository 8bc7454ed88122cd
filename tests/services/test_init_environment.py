"""init on a table that logs several environments (Langfuse's `environment`, OTel's
`deployment.environment`): it watches production only, sized on production's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from lookout.config.loader import load_monitors
from lookout.services.init import Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_yaml import render_monitors

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _traces(environments: list[str], shares: list[float], n: int = 1200) -> pd.DataFrame:
    """Production answers fast and fails 1%; staging fails 30% and is slow."""
    rng = np.random.default_rng(3)
    env = rng.choice(environments, n, p=shares)
    staging = env != environments[0]
    return pd.DataFrame(
        {
            "id": [f"t{i:06d}" for i in range(n)],
            "timestamp": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "environment": env,
            "name": rng.choice(["chat", "search"], n),
            "latency_ms": np.where(staging, 20_000.0, rng.lognormal(7, 0.3, n)),
            "status": np.where((rng.random(n) < 0.3) & staging, "error", "ok"),
        }
    )


def _propose(frame: pd.DataFrame):
    kinds = {"timestamp": "timestamp", "latency_ms": "number"}
    columns = [ColumnInfo(c, "T", kinds.get(c, "text")) for c in frame]  # type: ignore[arg-type]
    traffic = Traffic(100.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="traces")


def test_a_table_of_several_environments_is_watched_in_production_only(tmp_path):
    proposal = _propose(_traces(["production", "staging", "development"], [0.7, 0.2, 0.1]))
    assert proposal.where == {"environment": "production"}
    assert proposal.where_reason.startswith("only production: staging 2")
    assert "environment" not in proposal.cohorts
    assert proposal.traffic.rows_per_hour is not None and proposal.traffic.rows_per_hour < 75
    latency = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    assert latency.threshold < 10_000  # production's p95 (~1.8 s) doubled, not staging's 20 s
    path = tmp_path / "monitors.yml"
    path.write_text(render_monitors(proposal, NOW))
    monitor = load_monitors(path).monitors[0]
    assert monitor.source.where == {"environment": ["production"]}
    assert "where: {environment: production}" in path.read_text()


def test_one_environment_or_none_named_production_sets_no_filter():
    assert _propose(_traces(["production", "prod2"], [1.0, 0.0])).where == {}
    assert _propose(_traces(["blue", "green"], [0.5, 0.5])).where == {}


def test_a_column_with_one_value_per_release_is_no_cohort():
    """A shadow flag when the shadow model has its own tag repeats the release: as a cohort,
    every alert of the release came again as `is_shadow=False`."""
    rng = np.random.default_rng(9)
    n = 1200
    model = rng.choice(["xgb-11.2", "xgb-11.3", "lgbm-rc1"], n, p=[0.6, 0.3, 0.1])
    frame = pd.DataFrame(
        {
            "id": [f"r{i:06d}" for i in range(n)],
            "timestamp": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "model": model,
            "is_shadow": np.where(model == "lgbm-rc1", "yes", "no"),
            "channel": rng.choice(["web", "ios", "android"], n),
            "latency_ms": rng.lognormal(4, 0.3, n),
            "status": "ok",
        }
    )
    proposal = _propose(frame)
    assert proposal.release == ("model_version",)
    assert "channel" in proposal.cohorts and "is_shadow" not in proposal.cohorts
    role = next(r for r in proposal.roles if r.column == "is_shadow")
    assert role.role == "-" and "repeats the release" in role.reason


def test_long_text_that_is_data_about_the_request_is_never_its_input():
    """A classic model's JSON of input features and a hashed API key are long text no name
    places; neither is a prompt (init mapped them as `input` by column order)."""
    n = 400
    frame = pd.DataFrame(
        {
            "id": [f"r{i:06d}" for i in range(n)],
            "timestamp": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "api_key": ["88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"] * n,
            "features": ['{"ipRisk": 0.31, "deviceScore": 0.82, "velocity": 4, "amountZ": 1.7}']
            * n,
            "question_body": ["How do I reset the password of my team account please?"] * n,
            "status": "ok",
        }
    )
    proposal = _propose(frame)
    assert proposal.columns.get("input") == "question_body"
    assert "api_key" not in proposal.columns.values()
    assert "features" not in proposal.columns.values()


def test_a_status_that_says_a_fallback_answered_is_no_error_but_the_fallback_rate():
    rng = np.random.default_rng(4)
    n = 1200
    frame = pd.DataFrame(
        {
            "requestId": [f"r{i:06d}" for i in range(n)],
            "createdAt": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "latency_ms": rng.lognormal(4, 0.3, n),
            "status": rng.choice(
                ["OK", "TIMEOUT", "MODEL_ERROR", "FALLBACK_RULES"], n, p=[0.8, 0.02, 0.01, 0.17]
            ),
        }
    )
    proposal = _propose(frame)
    assert proposal.ok_statuses == ("OK",)
    assert proposal.fallback_statuses == ("FALLBACK_RULES",)
    errors = next(r for r in proposal.rules if r.metric == "error_rate")
    assert errors.threshold < 0.17  # sized on 3% errors, not 20% with the fallbacks
    assert any(r.metric == "fallback_rate" for r in proposal.rules)


def test_prose_without_spaces_is_still_prose():
    """Japanese and Chinese prompts and answers hold no spaces: still mapped by column order
    (a rule that asked for spaces left them unmapped)."""
    n = 300
    frame = pd.DataFrame(
        {
            "id": [f"r{i:06d}" for i in range(n)],
            "timestamp": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "shitsumon": [
                "チームアカウントのパスワードをリセットする方法を教えてください。請求書はどこで確認できますか？"
                * 2
            ]
            * n,
            "kaitou": [
                "設定画面の「セキュリティ」から再設定できます。請求書は管理者ページの「支払い」タブにあります。"
                * 2
            ]
            * n,
            "status": "ok",
        }
    )
    proposal = _propose(frame)
    assert proposal.columns.get("input") == "shitsumon"
    assert proposal.columns.get("output") == "kaitou"


def test_an_environment_column_spelled_several_ways_keeps_each_production_spelling(tmp_path):
    frame = _traces(["production", "Production", "staging"], [0.4, 0.3, 0.3])
    proposal = _propose(frame)
    assert proposal.where == {"environment": ["production", "Production"]}
    path = tmp_path / "monitors.yml"
    path.write_text(render_monitors(proposal, NOW))
    assert load_monitors(path).monitors[0].source.where == {
        "environment": ["production", "Production"]
    }


def test_an_environment_column_that_is_no_plain_identifier_sets_no_filter():
    frame = _traces(["production", "staging"], [0.7, 0.3]).rename(
        columns={"environment": "deployment.environment"}
    )
    assert _propose(frame).where == {}


def _observations(kinds: list[str], shares: list[float], n: int = 1200) -> pd.DataFrame:
    """A tracing table of every kind of span (Langfuse's `type`): the LLM calls are slow and
    fail 2%, the other spans are fast; `level` is ERROR exactly on the failures."""
    rng = np.random.default_rng(5)
    frame = _traces(["production"], [1.0], n)
    frame["type"] = rng.choice(kinds, n, p=shares)
    calls = frame["type"].str.lower().isin(["generation", "llm"]).to_numpy()
    frame["latency_ms"] = np.where(calls, rng.lognormal(7.5, 0.3, n), 5.0)
    failed = calls & (rng.random(n) < 0.02)
    frame["status"] = np.where(failed, "error", "ok")
    frame["level"] = np.where(failed, "ERROR", rng.choice(["DEFAULT", "WARNING"], n))
    return frame


def test_a_column_that_marks_the_errors_themselves_is_no_cohort():
    """`level` is ERROR on exactly the failed records: a cohort `level=ERROR` would be 100%
    errors in every window, an alert for ever on a healthy table."""
    proposal = _propose(_observations(["GENERATION", "SPAN"], [0.8, 0.2], n=3000))
    assert "level" not in proposal.cohorts
    why = next(r.reason for r in proposal.roles if r.column == "level")
    assert "level=ERROR marks the errors themselves" in why


def test_only_a_value_that_names_an_error_makes_a_column_no_cohort():
    """A region failing at sampling time is an incident, not a flag of the errors, and a
    status that says a fallback answered is no error: both stay cohorts."""
    frame = _observations(["GENERATION", "SPAN"], [0.8, 0.2], n=3000)
    frame["region"] = np.where(frame["status"] == "error", "ap", "eu")  # every failure in ap
    frame["source"] = np.where(np.arange(len(frame)) % 10 == 0, "cache", "model")
    frame.loc[frame["source"] == "cache", "status"] = "fallback_cache"
    frame = frame.drop(columns=["level"])
    proposal = _propose(frame)
    assert "region" in proposal.cohorts and "source" in proposal.cohorts


def test_a_status_mostly_empty_with_state_labels_is_no_error_column():
    """`delivered`/`rejected` on 30% of the rows are states init cannot call ok or errors: it
    says so rather than reading every value as an error (an error column holds messages)."""
    frame = _traces(["production"], [1.0])
    frame["status"] = np.where(
        np.arange(len(frame)) % 10 < 3,
        np.where(np.arange(len(frame)) % 2, "delivered", "rejected"),
        None,
    )
    proposal = _propose(frame)
    assert not proposal.null_status and proposal.status_warning is not None
