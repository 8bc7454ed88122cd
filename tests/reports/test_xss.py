"""Hostile logged values in every HTML page Lookout writes, opened in headless Chromium.

A DuckDB warehouse whose release names (model_version, prompt_version), cohort values (region),
routes, statuses, record ids, tool names and prompts are script and markup payloads. Two hourly
windows run through `run_window` (release 1, then release 2 whose routes and statuses shifted,
some of whose latencies are negative and whose tool calls fail in the hostile region), so the
pipeline writes the drift reports of release 2 (whole release, and the cohort its alert is
about), and the window's validation details and judge summary its data-quality and evaluator
alerts link; then the site (monitor index, root index, release timeline) and a scorecard of
release 2 against release 1. Every page is opened from disk; any dialog, page error, console
error or CSP violation fails the test, the payloads must be on screen as text, and the reports
must still show Evidently's widgets.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML, T0, text_monitor_yaml, write_table

from lookout.compare.releases import compare_releases
from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.reports.paths import report_path, slug, window_page_path
from lookout.reports.scorecard import write_scorecard
from lookout.reports.site import refresh_site
from lookout.windows import Window

pytestmark = pytest.mark.slow  # ~20-40 s: two windows, two Evidently reports, a browser

H = timedelta(hours=1)
M1, P1 = "m1<b>old</b>", "p1]]>{{ 7*7 }}"
M2 = "m2</script><svg onload=alert('model_version')>"
P2 = "p2<img src=x onerror=alert('prompt_version')><!--"
R1, R2 = f"{M1}@{P1}", f"{M2}@{P2}"
REGION = "</script><svg onload=alert('region')>\u2028<!--\"'\\"
COHORT = f"region={REGION}"
ROUTES = [
    "faq",
    "<img src=x onerror=alert('route')>",
    "<a href=\"javascript:alert('route-link')\">click</a>",
    "<b>bold</b> & <i>it</i> &amp;",
]
BAD_STATUS = "<script>alert('status')</script>"
RECORD = "<svg onload=alert('record_id')>"  # the ids of release 2's hostile-region records
TOOL = "<img src=x onerror=alert('tool')>"  # a logged tool name, quoted by the judge's reason
REASON = f"1/1 failed: {TOOL} (ok=false)"
TEXTS = {  # column -> a logged text; texts reach reports only as derived features
    column: f"</script><script>alert('{column}')</script><img src=x onerror=alert('{column}')>"
    for column in ("prompt", "answer", "ctx")
}
PER_HOUR = 400

DRIFT_YAML = """
      - name: data_quality
        metric: validation_failed_expectations
        op: ">"
        threshold: 0
        min_n: 1
        for: 1
        severity: P1
        owner: team
        split_by: ["*"]
      - name: tools_failing
        metric: eval.tool_calls
        op: "<"
        threshold: 0.9
        min_n: 10
        for: 1
        significance: false
        severity: P1
        owner: team
        split_by: [region]
      - name: routes_moved
        metric: drift.route
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
      reports: {sample_rows: 2000, retention: 3650d}
    validation:
      expectations:
        - {kind: between, column: latency_ms, min: 0, severity: critical}
    evaluators:
      enabled: true
      checks:
        - {name: tool_calls, sample: all}
"""


def _frame() -> pd.DataFrame:
    """Hour 0: release 1, mostly `faq`. Hour 1: release 2; in the hostile region its routes are
    mostly the hostile ones (the only cohort whose routes drift, so the one alert is about it),
    and a third of its statuses are hostile everywhere."""
    rng = np.random.default_rng(16)
    routes = np.array(ROUTES, dtype=object)
    calm, moved = [0.85, 0.05, 0.05, 0.05], [0.1, 0.3, 0.3, 0.3]
    parts = []
    for hour, (model, prompt, bad) in enumerate([(M1, P1, 0.02), (M2, P2, 0.3)]):
        n = PER_HOUR
        ts = pd.Timestamp(T0.replace(tzinfo=None)) + hour * H
        ts = ts + pd.to_timedelta(np.sort(rng.uniform(0, 3590, n)), unit="s")
        region = rng.choice(np.array(["us", REGION], dtype=object), n)
        shifted = (region == REGION) & (hour == 1)
        route = np.where(shifted, rng.choice(routes, n, p=moved), rng.choice(routes, n, p=calm))
        latency = rng.lognormal(7, 0.4, n).round(1)
        latency[np.flatnonzero(shifted)[:5]] = -1.0  # quarantined by a critical expectation
        ids = [f"{RECORD}-{i:04d}" if s else f"h{hour}r{i:04d}" for i, s in enumerate(shifted)]
        calls = np.where(
            shifted, json.dumps([{"name": TOOL, "ok": False}]), '[{"name": "search_kb"}]'
        )
        parts.append(
            pd.DataFrame(
                {
                    "request_id": ids,
                    "event_time": ts.astype("datetime64[us]"),
                    "ingested_at": (ts + pd.Timedelta(seconds=5)).astype("datetime64[us]"),
                    "model_version": model,
                    "prompt_version": prompt,
                    "route": route,
                    "region": region,
                    "latency_ms": latency,
                    "ttft_ms": (latency * 0.3).round(1),
                    "prompt_tokens": rng.integers(50, 500, n),
                    "completion_tokens": rng.integers(10, 200, n),
                    "cost_usd": rng.uniform(0.0001, 0.002, n).round(6),
                    "status": np.where(rng.random(n) < bad, BAD_STATUS, "ok"),
                    "is_fallback": rng.random(n) < 0.1,
                    "retry_count": rng.choice([0, 0, 1], n),
                    "feedback": None,
                    "session_id": [f"s{hour}{i:04d}" for i in range(n)],
                    "tool_calls": calls,
                    **TEXTS,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, Path]:
    """Every page kind, written through the real code paths; name -> file."""
    tmp = tmp_path_factory.mktemp("xss")
    warehouse = f"duckdb:///{tmp / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    cfg = tmp / "cfg"
    cfg.mkdir()
    monitors = text_monitor_yaml(0.5).replace(
        "        input: prompt\n", "        input: prompt\n        tool_calls: tool_calls\n"
    )
    (cfg / "monitors.yml").write_text(monitors.rstrip("\n") + DRIFT_YAML)
    (cfg / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse=warehouse, store=f"sqlite:///{tmp / 'results.sqlite'}", out_dir=tmp / "out"
        )
    )
    config = load_config(cfg / "profiles.yml", cfg / "monitors.yml")
    ctx = Context.from_config(config)
    monitor = config.monitors.monitors[0]
    try:
        results = [run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H)) for i in (0, 1)]
        assert [r.status for r in results] == ["succeeded"] * 2, [r.error for r in results]
        # routes moved in the hostile region only: the release's route drift is explained by
        # it (no second alert), the region's is the one that counts
        assert f"{R2} {COHORT} route" in results[1].drifted, results[1].drifted
        assert f"{R2} * route" not in results[1].drifted
        alerts = {(a.rule, a.release, a.cohort) for a in ctx.store.alerts("bot")}
        assert alerts == {
            ("routes_moved", R2, COHORT),
            ("data_quality", R2, "*"),
            ("tools_failing", R2, COHORT),
        }
        refresh_site(ctx.store, ctx.out_dir, [monitor], T0 + 2 * H)
        comparison = compare_releases(
            ctx.store, ctx.warehouse, monitor, R1, R2, T0, T0 + 2 * H, min_n=10
        )
        scorecard = write_scorecard(ctx.out_dir, comparison)
    finally:
        ctx.close()
    out = tmp / "out"
    pages = {
        "report of the release": out / report_path("bot", T0.date(), R2, "*"),
        "report of the cohort": out / report_path("bot", T0.date(), R2, COHORT),
        "monitor index": out / "reports" / "bot" / "index.html",
        "root index": out / "reports" / "index.html",
        "release timeline": out / "reports" / "bot" / "releases.html",
        "scorecard": scorecard,
        "validation details": out
        / window_page_path("validation", "bot", Window(T0 + H, T0 + 2 * H)),
        "judge summary": out / window_page_path("judges", "bot", Window(T0 + H, T0 + 2 * H)),
    }
    missing = [name for name, path in pages.items() if not path.exists()]
    assert not missing, missing  # report failures are only logged by the pipeline
    return pages


def test_logged_texts_reach_no_page_and_labels_reach_no_page_raw(site):
    out = site["root index"].parents[1]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == len(site)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for column in TEXTS:
            assert f"alert('{column}')" not in html, (page, column)
        for label in (M1, P1, M2, P2, REGION, BAD_STATUS, RECORD, TOOL, *ROUTES[1:]):
            assert label not in html, (page, label)
    report = site["report of the release"].read_text(encoding="utf-8")
    # the texts are there, as features: one per field (the output's features are one group,
    # shown by the member that moved most)
    for feature in ("input_length", "context_length"):
        assert f'"{feature}"' in report
    assert re.search(r'"output_(length|empty|refusal|json|script)"', report)


_WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  `${e.effectiveDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = "/usr/bin/chromium"
    if not os.path.exists(executable):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Opened:
    """A page opened from disk, recording every dialog, error and CSP violation it causes."""

    def __init__(self, browser, path: Path, ready: str | None = None) -> None:
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.add_init_script(_WATCH)  # runs before the page's own scripts, outside its CSP
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", self._console)
        self.page.goto(path.as_uri())
        if ready:
            try:
                self.page.get_by_text(ready).first.wait_for(timeout=30_000)
            except Exception as exc:  # say what ran instead of only "timeout"
                raise AssertionError(f"{ready!r} never showed; {self.problems}") from exc

    def _dialog(self, dialog) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text[:300]}")

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations")

    def close(self) -> None:
        self.page.close()


def _assert_inert(opened: Opened) -> None:
    """Nothing ran, nothing was blocked, no element carries a handler or a script link."""
    opened.page.wait_for_timeout(300)  # let late handlers (img onerror) fire
    assert opened.problems == []
    assert opened.violations() == []
    markup = opened.page.evaluate(
        "document.querySelectorAll('[onload], [onerror], a[href^=\"javascript\"]').length"
    )
    assert markup == 0


def _open_report(browser, path: Path) -> Opened:
    opened = Opened(browser, path, ready="Data Drift Summary")
    _assert_inert(opened)
    return opened


@pytest.mark.parametrize("kind", ["report of the release", "report of the cohort"])
def test_a_drift_report_shows_hostile_labels_as_text_and_runs_none(site, browser, kind):
    opened = _open_report(browser, site[kind])
    page = opened.page
    try:
        heading = page.locator("#lookout-heading").inner_text()
        assert R2 in heading and M1 in heading  # the release and its reference, as text
        assert (COHORT if kind.endswith("cohort") else "the release overall") in heading
        # Evidently rendered: the summary table has a row per drift column (searchable)
        assert page.get_by_text("Share of Drifted Columns").count() == 1
        search = page.get_by_placeholder("Search")
        rows = page.locator("tbody tr")
        # a cohort's own column is not compared inside it (constant there)
        own = ("region",) if kind.endswith("cohort") else ()
        for column in ("status", "region", "latency_ms", "input_length", "route"):
            if column in own:
                continue
            search.fill(column)
            page.wait_for_function(  # the search applied: the column's row and no other
                "c => { const rows = [...document.querySelectorAll('tbody tr')];"
                " return rows.length > 0 && rows.every("
                "r => r.innerText.split('\\t').map(t => t.trim()).includes(c)); }",
                arg=column,
            )
        row = rows.filter(has_text="cat").first  # the route row, the only one left
        assert row.inner_text().split("\t")[1] == "route"
        # the summary table's small chart (React) shows the logged routes in its tooltip
        canvas = row.locator("canvas").last
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        shown = set()
        for step in range(30):
            x = box["x"] + box["width"] * (step + 0.5) / 30
            page.mouse.move(x, box["y"] + box["height"] - 5)  # inside the bars
            page.wait_for_timeout(60)  # the tooltip renders on the next frame
            shown.update(page.locator("body").inner_text().splitlines())
        for route in ROUTES:
            assert any(line.startswith(f"x - {route}: ") for line in shown), (route, shown)
        assert not any("&lt;" in line for line in shown)
        # the route chart (Plotly) labels the bars with the logged routes, verbatim and inert
        row.locator("button").first.click()
        ticks = page.locator(".js-plotly-plot .xtick text")
        ticks.first.wait_for()
        assert set(ROUTES) <= set(ticks.all_text_contents())
        assert page.locator(".main-svg a, .main-svg tspan[style*=bold]").count() == 0
        _assert_inert(opened)
    finally:
        opened.close()


def test_the_monitor_index_shows_hostile_labels_as_text(site, browser):
    opened = Opened(browser, site["monitor index"])
    try:
        _assert_inert(opened)
        table = opened.page.locator("#drift-index").inner_text()
        assert R2 in table and COHORT.replace("\u2028", "") in table.replace("\u2028", "")
        assert "route=<img src=x onerror=alert('route')>" in table
        assert M1 in table  # the reference release
    finally:
        opened.close()


def test_the_root_index_links_the_monitor(site, browser):
    opened = Opened(browser, site["root index"])
    try:
        _assert_inert(opened)
        assert opened.page.locator("a", has_text="bot").count() == 1
    finally:
        opened.close()


def test_the_release_timeline_shows_hostile_release_names_as_text(site, browser):
    opened = Opened(browser, site["release timeline"])
    try:
        _assert_inert(opened)
        rows = opened.page.locator("#releases tbody tr").all_inner_texts()
        assert [r.split("\t")[0].strip() for r in rows] == [R1, R2]
        assert COHORT.replace("\u2028", "") in "".join(rows).replace("\u2028", "")  # the alert
    finally:
        opened.close()


def test_the_scorecard_shows_hostile_names_as_text(site, browser):
    opened = Opened(browser, site["scorecard"])
    try:
        _assert_inert(opened)
        page = opened.page
        assert page.locator("#candidate").inner_text() == R2
        assert page.locator("#baseline").inner_text() == R1
        cohorts = set(page.locator("table.scorecard td:nth-child(2)").all_inner_texts())
        assert "route=<img src=x onerror=alert('route')>" in cohorts
    finally:
        opened.close()


def test_the_validation_page_shows_hostile_releases_and_record_ids_as_text(site, browser):
    opened = Opened(browser, site["validation details"])
    try:
        _assert_inert(opened)
        page = opened.page
        section = page.locator(f'section[id="release-{slug(R2)}"]')
        assert section.locator("h2 .release-name").inner_text() == R2
        ids = section.locator(".quarantined-ids code").all_inner_texts()
        assert len(ids) == 5 and all(i.startswith(f"{RECORD}-") for i in ids)
        examples = section.locator("code.example").all_inner_texts()
        assert sorted(examples) == sorted(ids)  # the failing check's examples, as text
        assert "between_latency_ms" in section.locator("table.checks").inner_text()
    finally:
        opened.close()


def test_the_judge_page_shows_hostile_ids_cohorts_and_reasons_as_text(site, browser):
    opened = Opened(browser, site["judge summary"])
    try:
        _assert_inert(opened)
        page = opened.page
        rows = page.locator("#rates tbody tr").all_inner_texts()
        hostile = [r for r in rows if REGION.replace("\u2028", "") in r.replace("\u2028", "")]
        assert hostile and all(r.split("\t")[1].strip() == R2 for r in hostile)
        reasons = set(page.locator("td.reason").all_inner_texts())
        assert reasons == {REASON}  # the tool's name as typed, inert
        records = page.locator("code.record").all_inner_texts()
        assert records and all(r.startswith(f"{RECORD}-") for r in records)
    finally:
        opened.close()


@pytest.mark.parametrize(
    "kind",
    [
        "report of the release",
        "monitor index",
        "root index",
        "release timeline",
        "scorecard",
        "validation details",
        "judge summary",
    ],
)
def test_each_page_policy_blocks_markup_that_got_in_anyway(site, browser, kind, tmp_path):
    """Defence in depth: a handler and a script injected into a copy of the page are blocked."""
    html = site[kind].read_text(encoding="utf-8")
    injected = "<img src=x onerror=\"alert('handler')\"><script>alert('inline')</script>"
    assert html.count("<body>") == 1
    copy = tmp_path / "copy" / site[kind].relative_to(site[kind].parents[1])
    copy.parent.mkdir(parents=True)
    copy.write_text(html.replace("<body>", "<body>" + injected), encoding="utf-8")
    ready = "Data Drift Summary" if kind.startswith("report") else None
    opened = Opened(browser, copy, ready=ready)
    try:
        opened.page.wait_for_timeout(300)
        assert not [p for p in opened.problems if p.startswith(("dialog", "page error"))]
        # the <script>, the onerror handler, and the image itself (no loads)
        assert sorted(opened.violations()) == [
            "img-src file",
            "script-src-attr inline",
            "script-src-elem inline",
        ]
    finally:
        opened.close()
