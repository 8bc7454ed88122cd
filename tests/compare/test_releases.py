"""`compare_releases`, the gate and the scorecard on a small A/B warehouse whose regressions are
known: release m2 errs 12% in region eu (2% elsewhere) and has a slow tail on route search."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import T0
from tests.test_pipeline import _ctx
from typer.testing import CliRunner

from lookout.compare.gate import GatePolicy, check_gate
from lookout.compare.releases import compare_releases, previous_release
from lookout.config.loader import load_model
from lookout.errors import ConfigError
from lookout.pipeline import run_window
from lookout.reports.scorecard import write_scorecard
from lookout.windows import Window

H = timedelta(hours=1)
HOURS = 4
BAD = "m2<script>alert(1)</script>"  # a logged model name with markup in it


def ab_frame(candidate: str = "m2") -> pd.DataFrame:
    """Both releases side by side every hour, 100 records per release x region x route."""
    rng = np.random.default_rng(11)
    parts = []
    for hour in range(HOURS):
        for release in ("m1", candidate):
            for region in ("eu", "us"):
                for route in ("faq", "search"):
                    k = np.arange(100)
                    share = 0.12 if (release != "m1" and region == "eu") else 0.02
                    status = np.where(k < round(100 * share), "error", "ok")
                    latency = rng.lognormal(np.log(900), 0.3, 100)
                    if release != "m1" and route == "search":
                        latency[rng.random(100) < 0.1] = rng.uniform(11000, 16000)
                    ts = pd.Timestamp(T0.replace(tzinfo=None)) + hour * H
                    ts = ts + pd.to_timedelta(rng.uniform(0, 3590, 100), unit="s")
                    key = f"{hour}{release[:2]}{region}{route}"
                    parts.append(
                        pd.DataFrame(
                            {
                                "request_id": [f"{key}{i:04d}" for i in k],
                                "event_time": ts.astype("datetime64[us]"),
                                "ingested_at": (ts + pd.Timedelta(seconds=5)).astype(
                                    "datetime64[us]"
                                ),
                                "model_version": release,
                                "prompt_version": "p1",
                                "route": route,
                                "region": region,
                                "latency_ms": latency.round(1),
                                "ttft_ms": (latency * 0.3).round(1),
                                "prompt_tokens": 100,
                                "completion_tokens": 20,
                                "cost_usd": 0.001,
                                "status": status,
                                "is_fallback": False,
                                "retry_count": 0,
                                "feedback": "thumbs_up",
                                "session_id": [f"s{key}{i}" for i in k],
                                "prompt": "hello",
                            }
                        )
                    )
    frame = pd.concat(parts, ignore_index=True)
    # m1 is seen an hour before m2, so m1 is m2's previous release
    return frame[
        ~(
            (frame["model_version"] != "m1")
            & (frame["event_time"] < pd.Timestamp(T0.replace(tzinfo=None)) + H)
        )
    ]


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ab")
    ctx = _ctx(tmp, frame=ab_frame(), threshold=0.9)
    monitor = ctx.config.monitors.monitors[0]
    for hour in range(HOURS):
        assert run_window(ctx, monitor, Window(T0 + hour * H, T0 + (hour + 1) * H)).status == (
            "succeeded"
        )
    yield ctx, monitor, tmp
    ctx.close()


def _compare(ab, baseline="m1@p1", candidate="m2@p1", **kw):
    ctx, monitor, _ = ab
    return compare_releases(
        ctx.store, ctx.warehouse, monitor, baseline, candidate, T0, T0 + HOURS * H, **kw
    )


def _flags(comparison) -> dict[tuple[str, str], str]:
    return {
        (line.metric, line.cohort): line.verdict
        for line in comparison.lines
        if line.verdict in ("worse", "better", "changed")
    }


def test_the_known_regressions_are_worse_in_their_cohorts_and_nothing_else(ab):
    result = _compare(ab)
    flags = _flags(result)
    assert set(flags.values()) == {"worse"}
    errors = {cohort for metric, cohort in flags if metric == "error_rate"}
    assert {"region=eu", "*"} <= errors and "region=us" not in errors
    slow = {cohort for metric, cohort in flags if metric.startswith(("latency", "ttft"))}
    assert "route=search" in slow and "route=faq" not in slow
    allowed_metrics = {"error_rate", "latency_p95_ms", "latency_p99_ms", "ttft_p95_ms"}
    assert {metric for metric, _ in flags} <= allowed_metrics
    line = next(x for x in result.lines if (x.metric, x.cohort) == ("error_rate", "region=eu"))
    assert line.diff.baseline == pytest.approx(0.02) and line.diff.candidate == pytest.approx(0.12)
    assert line.test == "two proportions" and line.adjusted_p < 0.05
    assert result.correction == "Holm"


def test_a_release_against_itself_changes_nothing(ab):
    assert _flags(_compare(ab, baseline="m2@p1")) == {}


def test_not_enough_data_is_said_not_guessed(ab):
    result = _compare(ab, min_n=10_000)
    assert {line.verdict for line in result.lines} == {"not enough data"}
    assert all(line.diff is None for line in result.lines)


def test_the_previous_release_is_the_one_seen_before(ab):
    ctx, monitor, _ = ab
    assert previous_release(ctx.store, monitor.name, "m2@p1") == "m1@p1"
    assert previous_release(ctx.store, monitor.name, "m1@p1") is None


def _policy(tmp: Path, text: str, name: str = "gate.yml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def test_the_gate_fails_on_the_regression_and_passes_against_itself(ab, tmp_path):
    policy = load_model(
        _policy(
            tmp_path,
            "conditions:\n"
            "  - {metric: error_rate, max_worse: 0.02}\n"
            "  - {metric: latency_p95_ms, max_worse_relative: 0.10, cohorts: [route]}\n",
        ),
        GatePolicy,
    )
    failed = {
        (o.line.metric, o.line.cohort)
        for o in check_gate(policy, _compare(ab, min_n=policy.min_n))
        if o.status == "failed"
    }
    assert ("error_rate", "region=eu") in failed and ("error_rate", "region=us") not in failed
    assert ("latency_p95_ms", "route=search") in failed
    assert ("latency_p95_ms", "route=faq") not in failed
    itself = check_gate(policy, _compare(ab, baseline="m2@p1", min_n=policy.min_n))
    assert itself and all(o.status == "passed" for o in itself)


def test_the_gate_cli_exit_codes(ab, tmp_path):
    from lookout.cli import app

    _, _, tmp = ab
    cfg = [
        "--profiles",
        str(tmp / "cfg" / "profiles.yml"),
        "--monitors",
        str(tmp / "cfg" / "monitors.yml"),
    ]
    policy = _policy(
        tmp_path, "period: 1d\nconditions:\n  - {metric: error_rate, max_worse: 0.02}\n"
    )
    common = [
        "gate",
        "--monitor",
        "bot",
        "--policy",
        str(policy),
        *cfg,
        "--until",
        (T0 + HOURS * H).strftime("%Y-%m-%dT%H:%M:%S"),
    ]
    runner = CliRunner()
    bad = runner.invoke(app, [*common, "--candidate", "m2@p1"])
    assert bad.exit_code == 1, bad.output
    assert "FAILED" in bad.output and "region=eu" in bad.output
    good = runner.invoke(app, [*common, "--candidate", "m2@p1", "--baseline", "m2@p1"])
    assert good.exit_code == 0, good.output
    nothing = _policy(
        tmp_path, "conditions:\n  - {metric: eval.never_ran, max_worse: 0.02}\n", "none.yml"
    )
    common_nothing = [*common]
    common_nothing[common_nothing.index(str(policy))] = str(nothing)
    missing = runner.invoke(app, [*common_nothing, "--candidate", "m2@p1"])
    assert missing.exit_code == 2 and "no data for condition(s) on eval.never_ran" in (
        missing.output
    )
    # a unique prefix names the candidate as in `compare`, the previous release found from it
    prefix = runner.invoke(app, [*common, "--candidate", "m2"])
    assert prefix.exit_code == 1 and "FAILED" in prefix.output, prefix.output
    # ...and the verdict names the release it resolved to, not the prefix typed
    assert "gate FAILED: m2@p1 vs m1@p1," in " ".join(prefix.output.split())
    unknown = runner.invoke(app, [*common, "--candidate", "m9"])
    assert unknown.exit_code == 2 and "no stored results for release 'm9'" in unknown.output
    first = runner.invoke(app, [*common, "--candidate", "m1"])
    assert first.exit_code == 2 and "no release of bot was seen before 'm1@p1'" in first.output
    unknown = runner.invoke(app, [*common, "--candidate", "m9", "--baseline", "m1@p1"])
    assert unknown.exit_code == 2 and "no stored results for release 'm9'" in unknown.output


def _gate(ab, policy: Path, *extra: str, monitors: Path | None = None):
    from lookout.cli import app

    _, _, tmp = ab
    args = ["gate", "--monitor", "bot", "--candidate", "m2@p1", "--policy", str(policy)]
    args += ["--profiles", str(tmp / "cfg" / "profiles.yml")]
    args += ["--monitors", str(monitors or tmp / "cfg" / "monitors.yml")]
    args += ["--until", (T0 + HOURS * H).strftime("%Y-%m-%dT%H:%M:%S"), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, " ".join(result.output.split())


def test_a_misspelled_gate_cohort_next_to_the_overall_one_is_refused_not_dropped(ab, tmp_path):
    """m2 errs 7% overall against m1's 2% (within 6 points) but 12% in eu: a policy on
    `["*", regoin]` checked only the overall line and passed; the typo is now an error."""
    condition = "  - {metric: error_rate, max_worse: 0.06, cohorts: ['*', %s]}\n"
    typo = _policy(tmp_path, "period: 1d\nconditions:\n" + condition % "regoin")
    result, text = _gate(ab, typo)
    assert result.exit_code == 2, result.output
    assert (
        text.startswith("error: gate.yml:3:")
        and (
            "conditions[0].cohorts: 'regoin' is not a cohort of monitor bot "
            "(its cohorts: '*' (overall), route, region)"
        )
        in text
    ), text
    assert "passed" not in text
    spelled = _policy(tmp_path, "period: 1d\nconditions:\n" + condition % "region", "ok.yml")
    result, text = _gate(ab, spelled)  # what the typo hid
    assert result.exit_code == 1 and "FAILED" in text and "region=eu" in text, text


def test_a_gate_cohort_without_data_in_either_release_is_unchecked_not_passed(ab, tmp_path):
    """A cohort the monitor splits by now but the stored results of the period do not hold
    (added to monitors.yml after the windows ran): the gate checks nothing there."""
    _, _, tmp = ab
    monitors = tmp_path / "monitors.yml"
    text = (tmp / "cfg" / "monitors.yml").read_text()
    monitors.write_text(
        text.replace("cohorts: [route, region]", "cohorts: [route, region, is_fallback]")
    )
    condition = "{metric: error_rate, max_worse: 0.5, cohorts: ['*', is_fallback]}"
    policy = _policy(tmp_path, f"period: 1d\nconditions:\n  - {condition}\n")
    result, text = _gate(ab, policy, monitors=monitors)
    assert result.exit_code == 2, result.output
    assert "│ unchecked │ error_rate │ is_fallback │ no data in either release" in text, text
    assert (
        "no data for condition(s) on error_rate (cohort is_fallback) in either release over "
        "this period: not checked, so the gate does not pass"
    ) in text
    assert "gate passed" not in text


def test_unchecked_names_each_cohort_a_condition_has_no_line_for():
    from lookout.compare.releases import Comparison, Line
    from lookout.compare.stats import Difference
    from lookout.services.compare import judge_gate

    same = Difference(0.02, 0.02, 0.0, -0.01, 0.01, 1.0)
    comparison = Comparison("m", "a", "b", T0, T0 + H, 100, 0.05)
    comparison.lines = [
        Line("error_rate", "*", 5000, 5000, same, 1.0, "no significant change", "x"),
        Line("error_rate", "route=faq", 5000, 5000, same, 1.0, "no significant change", "x"),
    ]
    policy = GatePolicy(
        conditions=[
            {"metric": "error_rate", "max_worse": 0.01, "cohorts": ["*", "route", "region"]},
            {"metric": "eval.never_ran", "max_worse": 0.01},
        ]
    )
    verdict = judge_gate(policy, comparison)
    assert [(g.condition.metric, g.cohort) for g in verdict.missing] == [
        ("error_rate", "region"),
        ("eval.never_ran", None),
    ]
    assert verdict.missing[0].reason == "error_rate cohort region: no data in either release"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "conditions:\n  - {metric: bogus, max_worse: 1}\n",
            "gate.yml:2:6: conditions[0].metric: 'bogus' is not compared",
        ),
        (
            "conditions:\n  - metric: error_rate\n    max_worse: 0.1\n"
            "    max_worse_relative: 0.1\n",
            "gate.yml:2:5: conditions[0]: give exactly one of max_worse and max_worse_relative",
        ),
        ("conditions: []\n", "gate.yml:1:1: conditions: List should have at least 1 item"),
        (
            "period: soon\nconditions:\n  - {metric: error_rate, max_worse: 1}\n",
            "gate.yml:1:1: period: expected a duration like 30m",
        ),
        (
            "alpha: 2\nconditions:\n  - {metric: error_rate, max_worse: 1}\n",
            "gate.yml:1:1: alpha: Input should be less than 1",
        ),
    ],
)
def test_policy_errors_name_the_file_line_and_key_path(tmp_path, text, where):
    with pytest.raises(ConfigError) as info:
        load_model(_policy(tmp_path, text), GatePolicy)
    assert where in str(info.value)


def test_the_scorecard_escapes_logged_names_in_headless_chromium(tmp_path):
    ctx = _ctx(tmp_path, frame=ab_frame(candidate=BAD), threshold=0.9)
    monitor = ctx.config.monitors.monitors[0]
    for hour in range(HOURS):
        run_window(ctx, monitor, Window(T0 + hour * H, T0 + (hour + 1) * H))
    result = compare_releases(
        ctx.store, ctx.warehouse, monitor, "m1@p1", f"{BAD}@p1", T0, T0 + HOURS * H
    )
    path = write_scorecard(tmp_path / "out", result)
    ctx.close()
    html = path.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    executable = "/usr/bin/chromium"
    if not os.path.exists(executable):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            assert page.locator("#candidate").inner_text() == f"{BAD}@p1"
            assert "Holm" in page.locator("#method").inner_text()
            worse = page.locator("tr.worse-row")
            assert worse.count() >= 2
            assert "error_rate" in page.locator("tr.worse-row").first.inner_text() or any(
                "error_rate" in t for t in worse.all_inner_texts()
            )
        finally:
            browser.close()
    assert dialogs == []  # the logged <script> never ran


def test_a_p_value_that_underflows_to_zero_still_fails_the_gate():
    from lookout.compare.releases import Comparison, Line
    from lookout.compare.stats import Difference

    huge = Difference(0.008, 0.157, 0.149, 0.14, 0.16, 0.0)  # p underflows for huge effects
    comparison = Comparison("m", "a", "b", T0, T0 + H, 100, 0.05)
    comparison.lines = [Line("error_rate", "region=apac", 5000, 5000, huge, 0.0, "worse", "x")]
    policy = GatePolicy(conditions=[{"metric": "error_rate", "max_worse": 0.01}])
    [outcome] = check_gate(policy, comparison)
    assert outcome.status == "failed" and "corrected p=0" in outcome.reason


def _cli(ab, *args: str):
    from lookout.cli import app

    _, _, tmp = ab
    files = ["--profiles", str(tmp / "cfg" / "profiles.yml")]
    files += ["--monitors", str(tmp / "cfg" / "monitors.yml")]
    result = CliRunner().invoke(app, [*args, *files])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, " ".join(result.output.split())


def test_a_compare_period_without_results_says_where_they_are_instead_of_an_empty_scorecard(ab):
    """The stored results are of 2026-11-02; the default period is the last 7 days (by the
    wall clock): it compared nothing and exited 0 with `of 0 lines` and an empty scorecard."""
    releases = ["--baseline", "m1@p1", "--candidate", "m2@p1"]  # the only monitor: no name
    result, text = _cli(ab, "compare", *releases)
    assert result.exit_code == 2, text
    assert "error: no results of m1@p1 nor of m2@p1 (monitor bot) between " in text
    assert "UTC (the default period: the 7 days before now): " in text
    assert (
        "m1@p1 has results from 2026-11-02 00:00 to 2026-11-02 04:00 UTC, m2@p1 has results "
        "from 2026-11-02 01:00 to 2026-11-02 04:00 UTC; compare over a period that holds both: "
        "--since 2026-11-02 --until 2026-11-03"
    ) in text
    assert "of 0 lines" not in text and "scorecard:" not in text
    # one release without results in the period is named, with what the other has there
    first_hour = ["--since", "2026-11-02T00:00:00", "--until", "2026-11-02T01:00:00"]
    result, text = _cli(ab, "compare", *releases, *first_hour)
    assert result.exit_code == 2, text
    assert (
        "no results of m2@p1 (monitor bot) between 2026-11-02 00:00 and 2026-11-02 01:00 UTC, "
        "while m1@p1 has 400 records there"
    ) in text
    # the suggested period compares
    hinted = ["--since", "2026-11-02", "--until", "2026-11-03"]
    result, text = _cli(ab, "compare", *releases, *hinted)
    assert result.exit_code == 0, text
    assert "worse" in text and "scorecard:" in text and "of 0 lines" not in text


def test_a_gate_period_without_results_blames_the_period_not_the_policy(ab, tmp_path):
    policy = _policy(
        tmp_path, "period: 1d\nconditions:\n  - {metric: error_rate, max_worse: 0.02}\n"
    )
    gate = ["gate", "--monitor", "bot", "--candidate", "m2@p1", "--policy", str(policy)]
    result, text = _cli(ab, *gate)  # --until: now, weeks after the results
    assert result.exit_code == 2, text
    assert "gate.yml" not in text and "no data for condition" not in text
    assert "error: no results of m1@p1 nor of m2@p1 (monitor bot) between " in text
    assert "(the policy's period: 1d before now)" in text
    assert "not checked, so the gate does not pass; gate a period that holds both: " in text
    assert "--until 2026-11-02T04:00:00" in text
    result, text = _cli(ab, *gate, "--until", "2026-11-02T04:00:00")
    assert result.exit_code == 1 and "FAILED" in text, text


def test_a_dearer_chattier_release_is_worse_on_tokens_and_cost_per_request(tmp_path):
    """Trial K: a prompt revision made every answer ~70% longer and dearer; `compare` showed it
    only as cost per trace, and a gate on `cost_per_request_usd` (the metric of init's spend
    rule) was refused as "not compared"."""
    frame = ab_frame()
    rng = np.random.default_rng(4)
    m2 = (frame["model_version"] == "m2").to_numpy()
    tokens = rng.integers(15, 26, len(frame))
    frame["completion_tokens"] = np.where(m2, (tokens * 1.7).round(), tokens)
    frame["cost_usd"] = (frame["completion_tokens"] * 5e-5).round(7)
    ctx = _ctx(tmp_path, frame=frame, threshold=0.9)
    monitor = ctx.config.monitors.monitors[0]
    try:
        for hour in range(HOURS):
            window = Window(T0 + hour * H, T0 + (hour + 1) * H)
            assert run_window(ctx, monitor, window).status == "succeeded"
        result = compare_releases(
            ctx.store, ctx.warehouse, monitor, "m1@p1", "m2@p1", T0, T0 + HOURS * H
        )
    finally:
        ctx.close()
    flags = _flags(result)
    # a volume has no better side: more tokens is `changed`; what they cost is worse
    for metric, verdict in (
        ("completion_tokens_mean", "changed"),
        ("cost_per_request_usd", "worse"),
    ):
        assert flags[(metric, "*")] == verdict
        line = next(x for x in result.lines if (x.metric, x.cohort) == (metric, "*"))
        assert line.diff.candidate / line.diff.baseline == pytest.approx(1.7, rel=0.05)
    assert ("prompt_tokens_mean", "*") not in flags  # unchanged: 100 in both
    policy = load_model(
        _policy(
            tmp_path, "conditions:\n  - {metric: cost_per_request_usd, max_worse_relative: 0.2}\n"
        ),
        GatePolicy,
    )
    failed = {
        (o.line.metric, o.line.cohort) for o in check_gate(policy, result) if o.status == "failed"
    }
    assert ("cost_per_request_usd", "*") in failed
