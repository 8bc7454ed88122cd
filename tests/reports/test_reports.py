"""Drift reports end to end: the pipeline writes them, the index lists them, a browser reads them.

One DuckDB warehouse: release m1 on day 1, release m2 from day 2 on. m2's prompts got ten times
longer in region `eu` only (and carry HTML); region `us` is unchanged. One m2 record's route is
an HTML payload, so its cohort label reaches the index page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, PROFILES_YAML, T0, write_table
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config
from lookout.notify.formats.blockkit import to_block_kit
from lookout.notify.message import Message
from lookout.pipeline import Context, run_window
from lookout.reports.retention import clean_reports
from lookout.reports.site import refresh_site
from lookout.windows import Window

DAY2 = T0 + timedelta(days=1)
H = timedelta(hours=1)
R2 = "m2@p2"
SCRIPT = "<script>window.__pwned = 1</script>"
HOSTILE_ROUTE = '<img src=x onerror="window.__pwned=2">'

DRIFT_YAML = """
      - name: long_prompts
        metric: drift.input_length
        op: ">="
        threshold: 1
        min_n: 20
        severity: P2
        owner: team
        split_by: [region]
    drift:
      enabled: true
      reference: {kind: previous_release, lookback: 1d}
      min_n: 30
      reports: {sample_rows: 5000, retention: 3650d}
"""


def _frame(per_hour: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    hours = 24 + 3
    n = hours * per_hour
    offsets = np.sort(rng.uniform(0, hours * 3600, n))
    ts = pd.Timestamp(T0.replace(tzinfo=None)) + pd.to_timedelta(offsets, unit="s")
    release2 = offsets >= 24 * 3600
    region = rng.choice(["us", "eu"], n)
    words = rng.integers(5, 15, n)
    prompt = [" ".join(["quota"] * int(w)) for w in words]
    for i in np.flatnonzero(release2 & (region == "eu")):
        prompt[i] = f"{SCRIPT} " + " ".join(["account details"] * int(words[i]) * 6)
    route = rng.choice(["faq", "search"], n).astype(object)
    route[np.flatnonzero(release2)[5]] = HOSTILE_ROUTE
    latency = rng.lognormal(7, 0.4, n).round(1)
    return pd.DataFrame(
        {
            "request_id": [f"r{i:06d}" for i in range(n)],
            "event_time": ts.astype("datetime64[us]"),
            "ingested_at": (ts + pd.Timedelta(seconds=5)).astype("datetime64[us]"),
            "model_version": np.where(release2, "m2", "m1"),
            "prompt_version": np.where(release2, "p2", "p1"),
            "route": route,
            "region": region,
            "latency_ms": latency,
            "ttft_ms": (latency * 0.3).round(1),
            "prompt_tokens": (words * 4 + rng.integers(0, 5, n)).astype(int),
            "completion_tokens": rng.integers(10, 200, n),
            "cost_usd": rng.uniform(0.0001, 0.002, n).round(6),
            "status": np.where(rng.random(n) < 0.03, "error", "ok"),
            "is_fallback": rng.random(n) < 0.1,
            "retry_count": rng.choice([0, 0, 1], n),
            "feedback": None,
            "session_id": [f"s{i:06d}" for i in range(n)],
            "prompt": prompt,
        }
    )


def _config(tmp_path: Path):
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    directory = tmp_path / "cfg"
    directory.mkdir()
    monitors = MONITOR_YAML.format(
        table="app_requests", schema_line="", pushdown="auto", threshold=0.5
    )
    (directory / "monitors.yml").write_text(monitors.rstrip("\n") + DRIFT_YAML)
    profiles = PROFILES_YAML.format(
        warehouse=warehouse, store=f"sqlite:///{tmp_path / 'results.sqlite'}", out_dir=tmp_path
    )
    profiles += '    report_base_url: "http://127.0.0.1:8765"\n'
    (directory / "profiles.yml").write_text(profiles)
    return load_config(directory / "profiles.yml", directory / "monitors.yml")


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    """Day 1 (the reference release) and the first two hours of day 2, run through the pipeline."""
    tmp_path = tmp_path_factory.mktemp("reports")
    config = _config(tmp_path)
    ctx = Context.from_config(config)
    monitor = config.monitors.monitors[0]
    as_of = DAY2 + 3 * H
    results = [
        run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H), as_of=as_of)
        for i in range(26)
    ]
    refresh_site(ctx.store, tmp_path, [monitor], as_of)
    yield tmp_path, config, ctx, results
    ctx.close()


def test_only_the_shifted_cohort_drifts_and_its_alert_links_the_report(drifted):
    out_dir, _, ctx, results = drifted
    assert all(r.status == "succeeded" for r in results), [r.error for r in results]
    day2 = results[24:]
    for result in day2:
        assert f"{R2} region=eu input_length" in result.drifted
        assert f"{R2} region=us input_length" not in result.drifted
    assert not any(r.drifted for r in results[:24])  # release 1 has no previous release
    alerts = ctx.store.alerts("bot")
    assert [(a.rule, a.release, a.cohort) for a in alerts] == [("long_prompts", R2, "region=eu")]
    outbox = [m for m in ctx.store.outbox() if m.kind == "open"]
    payload = json.dumps(to_block_kit(Message.from_json(outbox[0].payload)))
    assert "|Drift report>" in payload and "region%3Deu.html" in payload
    assert "wasserstein" in payload or "ks " in payload  # the method and score in the message
    report = out_dir / "reports" / "bot" / DAY2.date().isoformat() / R2 / "region=eu.html"
    html = report.read_text()
    assert "input_length" in html
    assert "__pwned" not in html  # features only: no logged text inside reports
    assert not re.search(r"<script[^>]+src=", html)  # self-contained: no external scripts


def test_the_index_escapes_logged_labels_and_lists_drifted_columns(drifted):
    out_dir, *_ = drifted
    page = (out_dir / "reports" / "bot" / "index.html").read_text()
    assert HOSTILE_ROUTE not in page
    assert "route=&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in page
    row = re.search(
        r"<tr class=\"drifted-row\">(?:(?!</tr>).)*region=eu(?:(?!</tr>).)*</tr>", page, re.S
    )
    assert row and 'drifted-column">input_length<' in row.group(0)
    assert 'href="2026-11-03/m2@p2/region=eu.html"' in row.group(0)
    us = re.search(
        r"<tr class=\"(\w+)-row\">(?:(?!</tr>).)*region=us(?:(?!</tr>).)*</tr>", page, re.S
    )
    assert us and "input_length" not in us.group(0)


def test_reports_build_rewrites_the_day_and_retention_expires_old_days(drifted, tmp_path):
    out_dir, config, _, _ = drifted
    report = out_dir / "reports" / "bot" / DAY2.date().isoformat() / R2 / "region=eu.html"
    before = report.stat().st_mtime_ns
    cfg = Path(config.monitors_dir)
    result = CliRunner().invoke(
        app,
        [
            "reports",
            "build",
            "--day",
            DAY2.date().isoformat(),
            "--profiles",
            str(cfg / "profiles.yml"),
            "--monitors",
            str(cfg / "monitors.yml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region=eu.html" in result.output
    assert report.stat().st_mtime_ns > before

    # retention of 3 days: a copy dated 5 days earlier goes, the newer day stays
    old_day = (DAY2 - timedelta(days=5)).date().isoformat()
    shutil.copytree(report.parent.parent, out_dir / "reports" / "bot" / old_day)
    removed = clean_reports(out_dir, "bot", DAY2 + 3 * H, timedelta(days=3))
    assert removed == [old_day]
    assert (out_dir / "reports" / "bot" / DAY2.date().isoformat()).is_dir()


def test_a_later_drift_of_another_feature_writes_the_days_report_again(drifted, tmp_path):
    """The day's page is written by its first drifted window; a later window whose verdicts
    call another feature drifted (or a backfill's windows in turn) linked a page whose verdict
    did not name that drift. The page is written again then, once per feature."""
    from lookout.reports.drift_reports import DAY_BUILDS, ensure_report, sidecar
    from lookout.stages.drift.reference import resolve_reference

    out_dir, config, ctx, _ = drifted
    monitor = config.monitors.monitors[0]
    shutil.copytree(out_dir / "reports", tmp_path / "reports")  # the module's pages stay
    page = tmp_path / "reports" / "bot" / DAY2.date().isoformat() / R2 / "region=eu.html"
    rows = [r for r in ctx.store.drift("bot", since=DAY2) if r["cohort"] == "region=eu"]
    last = max(r["window_start"] for r in rows)
    verdicts = [r for r in rows if r["window_start"] == last]
    window = Window(last, verdicts[0]["window_end"])
    period = Window(verdicts[0]["period_start"], window.end)
    reference = resolve_reference(
        monitor,
        period,
        R2,
        ctx.store.release_first_seen("bot"),
        lambda span: ctx.warehouse.release_values(monitor, span),
    )
    assert reference is not None
    values = {label: tuple(v) for label, v, _ in ctx.warehouse.release_values(monitor, window)}

    def ensure(found: list[dict]) -> int:
        args = (ctx.warehouse, monitor, tmp_path, window, R2, values[R2], "region=eu")
        ensure_report(*args, reference, found, period)
        return page.stat().st_mtime_ns

    said = sidecar(page)
    assert said["drifted"] == ["input_length"]
    # as the day's first drifted window left it (`reports build` may have run on the module's)
    page.with_suffix(".json").write_text(json.dumps({**said, "builds": 1}))
    first = page.stat().st_mtime_ns
    assert ensure(verdicts) == first  # the drift it was written for: kept
    other, third = [r["column_name"] for r in verdicts if r["drifted"] is False][:2]

    def drifting(*names: str) -> list[dict]:
        return [{**r, "drifted": r["column_name"] in names} for r in verdicts]

    moved = ensure(drifting(other))  # another feature alone: the page must show it
    assert moved > first
    said = sidecar(page)
    assert (said["drifted"], said["builds"]) == ([other], 2)
    assert said["window_start"] == window.start.isoformat()
    back = ensure(drifting("input_length"))  # and back: the page showed only `other`
    assert back > moved and sidecar(page)["drifted"] == ["input_length"]
    both = ensure(drifting("input_length", other))
    assert both > back and sidecar(page)["builds"] == DAY_BUILDS == 4
    assert ensure(drifting(other)) == both  # the page shows it drifted already
    assert ensure(drifting(third)) == both  # a drift moving hour to hour stops costing reports


def _launch_browser(playwright):
    executable = "/usr/bin/chromium"
    if not os.path.exists(executable):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no /usr/bin/chromium")
    return playwright.chromium.launch(
        executable_path=executable,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


@pytest.fixture
def served(drifted):
    _, config, *_ = drifted
    cfg = Path(config.monitors_dir)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "lookout"),
            "reports",
            "serve",
            "--port",
            "0",
            "--profiles",
            str(cfg / "profiles.yml"),
            "--monitors",
            str(cfg / "monitors.yml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_browser_opens_the_index_and_a_report_and_no_logged_script_runs(served):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = _launch_browser(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{served}/index.html")
            page.click("text=bot")
            page.wait_for_selector("#drift-index")
            cohort = page.locator("td:nth-child(3)", has_text="region=eu")
            row = page.locator("#drift-index tr", has=cohort).first
            assert row.locator(".drifted-column", has_text="input_length").count() == 1
            assert page.locator("#drift-index", has_text=HOSTILE_ROUTE).count() == 1  # as text
            assert page.evaluate("typeof window.__pwned") == "undefined"
            row.locator("a", has_text="report").click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/region=eu.html")
            page.get_by_text("input_length").first.wait_for(timeout=30_000)
            assert page.evaluate("typeof window.__pwned") == "undefined"
        finally:
            browser.close()


def test_serve_needs_a_reports_folder(tmp_path):
    result = CliRunner().invoke(app, ["reports", "serve", "--dir", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "no reports folder" in result.output


def test_clean_reports_keeps_what_is_not_a_day_folder(tmp_path):
    base = tmp_path / "reports" / "m"
    for name in ("2026-10-01", "2026-11-20", "notes"):
        (base / name).mkdir(parents=True)
    (base / "index.html").write_text("x")
    removed = clean_reports(tmp_path, "m", datetime(2026, 11, 25, tzinfo=UTC), timedelta(days=30))
    assert removed == ["2026-10-01"]
    assert sorted(p.name for p in base.iterdir()) == ["2026-11-20", "index.html", "notes"]
