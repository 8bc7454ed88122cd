"""The cohort cap: which values keep a cohort of their own, stably, and what the rest become."""

from __future__ import annotations

import numpy as np

from lookout.core.cohorts import OTHER, CohortCap, choose_cohorts


def test_few_values_are_not_capped():
    cap = choose_cohorts({"region": {"eu": 10, "us": 5}}, {"region": {"apac": 3}}, 3)
    assert not cap.capped("region")
    assert cap.label("region", "anything") == "anything"


def test_the_top_values_by_history_plus_window_are_kept_and_the_rest_pooled():
    window = {"user": {f"u{i}": 1 for i in range(100)} | {"u7": 40}}
    history = {"user": {"u1": 500, "u2": 400, "u3": 30, "u99": 1, OTHER: 10_000}}
    cap = choose_cohorts(window, history, 3)
    assert cap.kept["user"] == {"u1", "u2", "u7"}  # u7's window traffic beats u3's history
    labels = np.array(["u1", "u50", "u7", "u3", None], dtype=object)
    assert cap.apply("user", labels).tolist() == ["u1", OTHER, "u7", OTHER, OTHER]


def test_the_choice_is_stable_when_history_dominates():
    history = {"plan": {f"p{i}": 1000 - i for i in range(60)}}
    first = choose_cohorts({"plan": {"p0": 5, "p59": 9}}, history, 50)
    second = choose_cohorts({"plan": {"p58": 2, "new": 3}}, history, 50)
    assert first.kept == second.kept == {"plan": frozenset(f"p{i}" for i in range(50))}


def test_ties_break_by_label_so_reruns_agree():
    window = {"k": {v: 1 for v in "edcba"}}
    assert choose_cohorts(window, {}, 2).kept["k"] == {"a", "b"}


def test_kept_raw_values_match_labels_whatever_the_type():
    cap = CohortCap({"code": frozenset({"200", "(null)"})})
    values, null_kept = cap.kept_raw(
        "code", [200, 404, None], lambda v: "(null)" if v is None else str(v)
    )
    assert values == [200] and null_kept
