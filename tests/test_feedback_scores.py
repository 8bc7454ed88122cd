"""Feedback as a score (LangSmith's and Langfuse's numeric scores, a 1-10 rating): with
`negative_feedback_below`, a score under it is a negative vote, in the window's metrics
(pandas and pushed down alike), in the votes of a table of their own, and in the
failure-biased sample; a text column is refused at the key."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.core.values import negative_votes
from lookout.windows import Window

WINDOW = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
BELOW = "      negative_feedback_below: 0.5\n"


def _scored() -> pd.DataFrame:
    frame = make_requests()
    rng = np.random.default_rng(4)
    scores = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], len(frame))
    frame["feedback"] = np.where(rng.random(len(frame)) < 0.4, scores, np.nan)
    return frame


def _monitors(pushdown: str, extra: str = BELOW) -> str:
    text = MONITOR_YAML.format(
        table="app_requests", schema_line="", pushdown=pushdown, threshold=0.2
    )
    return text.replace("      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + extra)


def test_a_score_under_the_floor_is_negative_and_a_missing_one_is_no_vote():
    scores = pd.Series([0.0, 0.49, 0.5, 0.9, None, "thumbs_down"], dtype=object)
    assert negative_votes(scores, ["thumbs_down"], 0.5).tolist() == [
        True, True, False, False, False, True
    ]  # fmt: skip
    assert negative_votes(scores, ["thumbs_down"]).tolist() == [False] * 5 + [True]


@pytest.mark.parametrize(
    ("engine_name", "pushdown"),
    [("duckdb", "on"), ("duckdb", "off"), ("sqlite", "off"),
     pytest.param("postgresql", "on", marks=pytest.mark.postgres)],
)  # fmt: skip
def test_the_negative_feedback_rate_counts_scores_under_the_floor(
    engine_name, pushdown, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    frame = _scored()
    engine = sa.create_engine(url)
    write_table(engine, frame, table="app_requests")
    engine.dispose()
    stored = stored_by_window(project(tmp_path, url, "cfg", _monitors(pushdown)), WINDOW)
    start, end = (pd.Timestamp(t.replace(tzinfo=None)) for t in (WINDOW.start, WINDOW.end))
    rows = frame[frame["event_time"].between(start, end, inclusive="left")]
    rates = {
        (r[0], r[1]): (r[3], r[4]) for r in stored["metrics"] if r[2] == "negative_feedback_rate"
    }
    per_release = {
        f"{m}@{p}": part["feedback"].dropna()
        for (m, p), part in rows.groupby(["model_version", "prompt_version"])
    }
    assert len(per_release) == 2
    for release, votes in per_release.items():
        assert 0 < (votes < 0.5).sum() < len(votes)
        assert rates[(release, "*")] == (round(float((votes < 0.5).mean()), 6), len(votes))


def test_a_text_feedback_column_is_refused_for_a_score_floor(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, make_requests(), table="app_requests")  # thumbs_up / thumbs_down
    engine.dispose()
    said = check_refusal(project(tmp_path, url, "cfg", _monitors("auto")))
    assert (
        "monitors[0].source.negative_feedback_below: column 'feedback' is VARCHAR; a score "
        "compared with a number must be numeric"
    ) in said
