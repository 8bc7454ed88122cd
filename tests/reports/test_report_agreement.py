"""The Evidently report and Lookout's verdicts agree on the same rows, and say what they are about.

The attribution scenario of tests/checks/drift/test_drift_pipeline.py (release 2 pastes an
account profile into enterprise prompts) runs through `run_window` with reports on: the first
drifted window writes the report of the whole release and of the cohort its alert is about. On
the same rows (the period holds fewer than `sample_rows`), Evidently's own per-column drift tests
and its dataset drift test must say what Lookout's verdicts of that window say; the index must
list the verdicts of the window the report shows; every report names its monitor, release,
cohort, period and reference in its title and heading.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from tests.checks.drift.test_drift_pipeline import (
    ATTRIBUTION_RULE,
    R2,
    attribution_frame,
    project,
    requests,
    rule,
    run,
)
from tests.conftest import T0

from lookout.reports.drift_reports import period_text, sidecar
from lookout.reports.index import write_index
from lookout.reports.paths import report_path
from lookout.stages.drift.outcome import cohort_words, group_view
from lookout.windows import Window

pytestmark = pytest.mark.slow  # two Evidently reports (~2-4 s)

H = timedelta(hours=1)


def test_the_report_says_what_the_verdicts_say_and_names_what_it_is_about(tmp_path):
    frame, launch = attribution_frame()
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=ATTRIBUTION_RULE,
        cohorts="[plan, region]",
        reports=True,
        # low, so that both sides of the dataset verdict are exercised by the one scenario
        extra="      dataset_drift_share: 0.1\n",
    )
    try:
        run(ctx, launch, 2)
        stored = ctx.store.drift("bot")
        period = Window(launch + H - 24 * H, launch + H)
        reference = "baseline 2026-11-02 00:00..2026-11-02 06:00"
        for cohort in ("*", "plan=enterprise"):
            page = tmp_path / report_path("bot", launch.date(), R2, cohort)
            said = sidecar(page)
            assert said is not None, cohort
            assert said["window_start"] == launch.isoformat()  # the first drifted window
            rows = [
                r
                for r in stored
                if r["window_start"] == launch and (r["release"], r["cohort"]) == (R2, cohort)
            ]
            groups = group_view(rows)
            moved = {
                g["top"]["column_name"]: g["drifted"] or bool(g["explained_by"]) for g in groups
            }
            # the same rows: the period's rows of the release and cohort, all of them
            assert said["rows"][0] == max(r["n_current"] for r in rows) < 20_000
            assert said["rows"][1] == max(r["n_reference"] for r in rows)
            # one column per feature group, each flagged by Evidently exactly when Lookout did
            assert said["evidently"]["columns"] == moved, cohort
            assert moved["input_length"] is True
            assert sum(moved.values()) == 1  # nothing else moved
            share = sum(moved.values()) / len(moved)
            assert said["evidently"]["dataset_drift"] is (share >= 0.1) is True
            text = page.read_text()
            title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
            heading = re.search(r"<header id=\"lookout-heading\">(.*?)</header>", text, re.S)
            for part in ("bot", R2, cohort_words(cohort), period_text(period), reference):
                assert html.escape(part) in title, (part, title)
                assert html.escape(part) in heading.group(1), part
        # the whole release's drift is the enterprise cohort's: its report says so
        assert (
            "explained by plan=enterprise"
            in (tmp_path / report_path("bot", launch.date(), R2, "*")).read_text()
        )

        # The index lists the verdicts of the window each report shows (the first one), not
        # the day's last window's.
        page = write_index(tmp_path, "bot", stored).read_text()
        row = next(r for r in page.split("<tr") if "<td><code>plan=enterprise</code></td>" in r)
        assert period_text(period) in row
        assert period_text(Window(period.start + H, period.end + H)) not in row
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("counts", "method"),
    [({100: 8, 200: 14, 300: 18}, "chisquare"), ({100: 14, 200: 26}, "z")],
)
def test_a_numeric_column_of_few_values_in_a_small_sample_gets_its_report(tmp_path, counts, method):
    """A number with at most 5 distinct values in a small sample is held to chi-square (z for
    two values), each value a category, as Evidently's own default does; a verdict that test
    settled configures the report's column with it. Evidently 0.7 refuses those tests on a
    numerical column (StatTestInvalidFeatureTypeError: "Stattest chisquare isn't applicable
    to feature of type num"), so the report of a release whose latency drifted failed. The
    column goes to Evidently as categories (a missing number stays missing), and Evidently
    says what Lookout said."""
    rng = np.random.default_rng(3)
    launch = T0 + 6 * H
    old = requests(rng, T0, 6, 50, ("m1", "p1"))
    new = requests(rng, launch, 1, 44, ("m2", "p2"), latency=2.0)  # latency drifts
    old["prompt_tokens"] = rng.permutation(np.repeat(list(counts), len(old) // len(counts)))
    tokens = [value for value, n in counts.items() for _ in range(n)] + [None] * 4
    new["prompt_tokens"] = pd.array(rng.permutation(np.array(tokens, object)), dtype="Int64")
    ctx = project(
        tmp_path,
        pd.concat([old, new], ignore_index=True),
        reference=Window(T0, launch),
        start=launch,
        rules=rule("slow", "drift.latency_ms"),
        reports=True,
        extra="      columns: [prompt_tokens, latency_ms]\n",
    )
    try:
        run(ctx, launch, 1)
        [tokens_verdict] = [
            r for r in ctx.store.drift("bot") if r["column_name"] == "prompt_tokens"
        ]
        # past the effect floor, but the small-sample test did not reject: that test settled it
        assert tokens_verdict["drifted"] is False and tokens_verdict["gate"] == method
        said = sidecar(tmp_path / report_path("bot", launch.date(), R2, "*"))
        assert said is not None  # the report was written
        assert said["methods"]["prompt_tokens"][0] == method
        assert said["rows"] == [44, 300]
        assert said["evidently"]["columns"] == {"prompt_tokens": False, "latency_ms": True}
    finally:
        ctx.close()


def test_a_column_constant_in_the_period_writes_its_report_without_numpy_warnings(tmp_path):
    """Evidently correlates the numeric columns: a flag never set in the period divided by a
    zero deviation and warned twice per report in every backfill's log."""
    import warnings

    from lookout.reports.evidently_report import write_drift_report
    from lookout.sources.drift_columns import DriftColumn

    rng = np.random.default_rng(5)
    frames = [
        pd.DataFrame({"latency_ms": rng.lognormal(6, 0.4, 80), "retry_count": np.zeros(80)})
        for _ in range(2)
    ]
    columns = [
        DriftColumn("latency_ms", "numeric", "latency_ms"),
        DriftColumn("retry_count", "numeric", "retry_count"),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verdict = write_drift_report(tmp_path / "r.html", frames[0], frames[1], columns)
    assert (tmp_path / "r.html").stat().st_size > 0 and verdict is not None
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [
        str(w.message) for w in caught
    ]


def test_a_doubled_cost_per_request_drifts_and_its_report_agrees(tmp_path):
    """A cost per request in USD spreads by ~3.5e-5: Evidently's normalisation floor of 0.001
    scored a trial's doubled cost 0.075 against 0.1 (not drifted). Lookout divides by the
    spread, and the report shows the column in a unit where Evidently's distance is the same."""
    rng = np.random.default_rng(11)
    launch = T0 + 6 * H
    before = requests(rng, T0, 6, 200, ("m1", "p1"))
    after = requests(rng, launch, 1, 200, ("m2", "p2"))
    before["unit_cost"] = rng.lognormal(np.log(7.5e-5), 0.4, len(before))
    after["unit_cost"] = rng.lognormal(np.log(1.5e-4), 0.4, len(after))  # a pricing bug
    frame = pd.concat([before, after], ignore_index=True)
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=rule("cost_moved", "drift.unit_cost"),
        reports=True,
        extra="      features: {numeric: [unit_cost]}\n",
    )
    try:
        run(ctx, launch, 1)
        [row] = [
            r
            for r in ctx.store.drift("bot")
            if (r["release"], r["cohort"], r["column_name"]) == ("m2@p2", "*", "unit_cost")
        ]
        assert row["method"] == "wasserstein" and row["drifted"], row
        assert row["score"] > 1.0  # about two spreads, not 0.075
        page = tmp_path / report_path("bot", launch.date(), "m2@p2", "*")
        said = sidecar(page)
        assert said is not None and said["evidently"]["columns"]["unit_cost"] is True
        assert "unit_cost x1,000 (a spread under 0.001" in page.read_text()
    finally:
        ctx.close()
