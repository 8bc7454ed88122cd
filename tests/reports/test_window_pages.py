"""Alerts that say what is wrong, and link the page of their family, through `run_window`.

One hourly window of a DuckDB warehouse where release m2@p2 has 7 negative latencies (a
critical expectation: those records are quarantined), 3 unknown statuses, and tool calls that
fail on route `faq`. Its data-quality alert must name the failing expectations with their
counts, the quarantined records and example ids, and link the window's validation page; its
evaluator alert must show failing records with the evaluator's reason and link the window's
judge summary; an ops alert links the release timeline. Every linked page exists when the
message is queued, and shows what the message says.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, PROFILES_YAML, T0, make_requests, write_table

from lookout.checks.evaluators.summary import EXAMPLES_PER_GROUP
from lookout.config.loader import load_config
from lookout.model.aggregates import ALL_COHORTS
from lookout.notify.formats.blockkit import to_block_kit
from lookout.notify.formats.text import to_text
from lookout.notify.message import Message
from lookout.pipeline import Context, run_window
from lookout.reports.retention import clean_reports
from lookout.runtime.pages import WindowPages
from lookout.windows import Window

H = timedelta(hours=1)
WINDOW = Window(T0, T0 + H)
BASE = "http://127.0.0.1:8765"
VALIDATION_URL = f"{BASE}/bot/validation/2026-11-02/0000.html"
JUDGES_URL = f"{BASE}/bot/judges/2026-11-02/0000.html"

SECTIONS = """    validation:
      expectations:
        - {kind: between, column: latency_ms, min: 0, severity: critical}
        - {kind: in_set, column: status, values: [ok, error]}
        - {kind: not_null, column: route}
    evaluators:
      enabled: true
      checks:
        - {name: tool_calls, sample: all}
"""
RULES = """      - name: data_quality
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
        split_by: [route]
"""


def _frame():
    frame = make_requests(hours=1, per_hour=200, seed=3)
    m2 = frame.index[frame["model_version"] == "m2"]
    frame.loc[m2[:7], "latency_ms"] = -1.0  # critical: quarantined
    frame.loc[m2[10:13], "status"] = "weird"
    failing = (frame["model_version"] == "m2") & (frame["route"] == "faq")
    frame["tool_calls"] = np.where(
        failing, '[{"name": "search_kb", "ok": false}]', '[{"name": "search_kb"}]'
    )
    return frame


def _project(tmp: Path) -> Context:
    warehouse = f"duckdb:///{tmp / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    monitors = MONITOR_YAML.format(
        table="app_requests", schema_line="", pushdown="auto", threshold=0.02
    )
    monitors = monitors.replace("        input: prompt\n", "        tool_calls: tool_calls\n")
    monitors = monitors.replace("    rules:\n", SECTIONS + "    rules:\n" + RULES)
    monitors = monitors.replace('split_by: ["*", region]', 'split_by: ["*"]')
    cfg = tmp / "cfg"
    cfg.mkdir(parents=True)
    (cfg / "monitors.yml").write_text(monitors)
    profiles = PROFILES_YAML.format(
        warehouse=warehouse, store=f"sqlite:///{tmp / 'results.sqlite'}", out_dir=tmp / "out"
    )
    (cfg / "profiles.yml").write_text(profiles + f'    report_base_url: "{BASE}"\n')
    return Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    ctx = _project(tmp)
    monitor = ctx.config.monitors.monitors[0]
    result = run_window(ctx, monitor, WINDOW)
    assert result.status == "succeeded", result.error
    yield ctx, monitor, result, _frame()
    ctx.close()


def _message(ctx: Context, rule: str, release: str, cohort: str = "*") -> Message:
    [alert] = [
        a
        for a in ctx.store.alerts("bot")
        if (a.rule, a.release, a.cohort) == (rule, release, cohort)
    ]
    [row] = [
        m
        for m in ctx.store.outbox()
        if m.fingerprint == alert.fingerprint and m.channel_type == "slack"
    ]
    assert row.kind == "open"
    return Message.from_json(row.payload)


def test_a_data_quality_alert_names_the_failing_checks_counts_quarantine_and_examples(ran):
    ctx, _, result, frame = ran
    m2 = frame[frame["model_version"] == "m2"]
    negative = sorted(m2.loc[m2["latency_ms"] < 0, "request_id"])
    rows = len(m2)
    assert result.quarantined == 7
    assert {a.release for a in ctx.store.alerts("bot") if a.rule == "data_quality"} == {"m2@p2"}
    message = _message(ctx, "data_quality", "m2@p2")
    share = f"{7 / rows:.2%}"
    assert message.title == "[P1] bot: data_quality"
    assert message.summary.startswith(
        f"2 of 3 checks failed: between_latency_ms (7 unexpected, {share}), in_set_status "
        f"(3 unexpected, {3 / rows:.2%}); 7 records quarantined (validation_failed_expectations "
        "2 > 0) for release m2@p2, all traffic"
    )
    facts = dict((f.label, f.value) for f in message.facts)
    assert facts["Quarantined"] == f"7 of {rows:,} ({share}): between_latency_ms 7"
    assert facts["Example records"] == ", ".join(negative[:5])
    [table] = message.tables
    assert table.title == "Failing checks of release m2@p2, 2026-11-02 00:00–01:00 UTC"
    by_check = {row[0]: row for row in table.rows}
    assert set(by_check) == {"between_latency_ms", "in_set_status"}
    assert by_check["between_latency_ms"][1:6] == (
        "between",
        "latency_ms",
        "failed",
        f"7 of {rows:,}",
        share,
    )
    assert by_check["between_latency_ms"][6] == ", ".join(negative[:5])
    links = {link.label: link.url for link in message.links}
    assert links["Validation details"] == f"{VALIDATION_URL}#release-m2%40p2"
    assert "Drift report" not in links and "Report" not in links

    # every format shows it: Slack (the table as text, the link) and the email text
    payload = json.dumps(to_block_kit(message))
    assert "between_latency_ms" in payload and negative[0] in payload
    assert f"<{VALIDATION_URL}#release-m2%40p2|Validation details>" in payload
    text = to_text(message)
    assert "Quarantined" in text and "Validation details:" in text and negative[4] in text


def test_the_linked_validation_page_exists_and_shows_what_the_message_says(ran):
    ctx, _, _, frame = ran
    page = ctx.out_dir / "reports/bot/validation/2026-11-02/0000.html"
    html = page.read_text(encoding="utf-8")
    m2 = frame[frame["model_version"] == "m2"]
    rows = len(m2)
    section = html[html.index('id="release-m2@p2"') :]
    assert f"{rows:,} records; 2 of 3 checks failing; 7 quarantined" in section
    check = re.search(
        r"<tr class=\"drifted-row\">(?:(?!</tr>).)*between_latency_ms.*?</tr>", section, re.S
    )
    assert check and f"7 of {rows:,}" in check.group(0)
    for record_id in sorted(m2.loc[m2["latency_ms"] < 0, "request_id"]):
        assert f"<code>{record_id}</code>" in section  # every quarantined id
    assert "in_set_status" in section and "weird" not in section  # ids and counts, not values
    m1 = html[html.index('id="release-m1@p1"') : html.index('id="release-m2@p2"')]
    assert "0 of 3 checks failing" in m1


def test_an_evaluator_alert_shows_failing_records_with_reasons_and_links_the_judge_page(ran):
    ctx, _, _, frame = ran
    failing = frame[(frame["model_version"] == "m2") & (frame["route"] == "faq")]
    failing = failing[failing["latency_ms"] >= 0]  # quarantined records are not judged
    message = _message(ctx, "tools_failing", "m2@p2", "route=faq")
    n = len(failing)
    assert message.summary.startswith(
        f"tool_calls: {n} of {n} sampled records failed in this window "
        "(eval.tool_calls 0.00% < 90.00%)"
    )
    [table] = message.tables
    assert table.title == "Failing records of tool_calls (release m2@p2, route=faq)"
    assert [row[0] for row in table.rows] == sorted(failing["request_id"])[:5]
    assert {row[1:] for row in table.rows} == {
        ("0.00", "random", "1/1 failed: search_kb (ok=false)")
    }
    links = {link.label: link.url for link in message.links}
    assert links["Judge summary"] == f"{JUDGES_URL}#eval-tool_calls"

    page = (ctx.out_dir / "reports/bot/judges/2026-11-02/0000.html").read_text(encoding="utf-8")
    rate = re.search(
        r"<tr>\s*<td><code>tool_calls</code></td>\s*<td><code>m2@p2</code></td>"
        r"\s*<td><code>route=faq</code></td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>",
        page,
    )
    assert rate and rate.groups() == ("0.00%", str(n))
    section = page[page.index('id="eval-tool_calls"') :]
    shown = re.findall(r'<code class="record">([^<]*)</code>', section)
    # at most EXAMPLES_PER_GROUP per release x cohort (this one's and the others'), by id
    assert set(sorted(failing["request_id"])[:EXAMPLES_PER_GROUP]) <= set(shown)
    assert set(shown) <= set(failing["request_id"]) and len(shown) == len(set(shown))
    assert "1/1 failed: search_kb (ok=false)" in section


def test_an_ops_alert_links_the_release_timeline_which_exists(ran):
    ctx, _, _, _ = ran
    errors = [a for a in ctx.store.alerts("bot") if a.rule == "errors"]
    assert errors  # error_rate above 2% in both releases
    for alert in errors:
        message = _message(ctx, "errors", alert.release)
        links = {link.label: link.url for link in message.links}
        assert links["Release timeline"] == f"{BASE}/bot/releases.html"
        assert not message.tables
    assert (ctx.out_dir / "reports/bot/releases.html").exists()


def test_a_window_whose_stages_were_not_rerun_says_the_same_from_the_store(ran):
    """A backfill of other stages: what validation and the evaluators found comes from the
    stored rows (judgments carry no cohort: the release's failing records are shown)."""
    ctx, monitor, _, _ = ran
    values = ctx.store.window_metrics("bot", WINDOW, lambda name: True)
    live = WindowPages(ctx, monitor, WINDOW, {}, values, kept={"validate", "evaluate"})
    alerts = {(a.rule, a.cohort): a for a in ctx.store.alerts("bot")}
    stored = live.about(alerts[("data_quality", ALL_COHORTS)])
    message = _message(ctx, "data_quality", "m2@p2")
    assert message.summary.startswith(stored.headline)
    assert stored.tables == message.tables
    assert stored.facts == tuple(
        f for f in message.facts if f.label in ("Quarantined", "Example records")
    )
    evaluator = live.about(alerts[("tools_failing", "route=faq")])
    [table] = evaluator.tables
    assert "cohorts of stored judgments are not known" in table.title
    assert {row[3] for row in table.rows} == {"1/1 failed: search_kb (ok=false)"}


def test_a_page_that_cannot_be_written_is_not_linked_and_the_window_still_commits(tmp_path):
    ctx = _project(tmp_path)
    try:
        monitor = ctx.config.monitors.monitors[0]
        blocked = ctx.out_dir / "reports" / "bot" / "validation"
        blocked.parent.mkdir(parents=True)
        blocked.write_text("not a folder")  # the page's folder cannot be made
        result = run_window(ctx, monitor, WINDOW)
        assert result.status == "succeeded", result.error
        message = _message(ctx, "data_quality", "m2@p2")
        assert "between_latency_ms" in message.summary  # the message still says what is wrong
        assert [link.label for link in message.links] == ["Runbook"]
        judged = _message(ctx, "tools_failing", "m2@p2", "route=faq")
        assert "Judge summary" in {link.label for link in judged.links}  # others unaffected
    finally:
        ctx.close()


def test_window_pages_expire_with_the_reports(tmp_path):
    base = tmp_path / "reports" / "bot"
    for folder in (
        "validation/2026-10-01",
        "judges/2026-10-01",
        "validation/2026-11-01",
        "2026-10-01/r1",
    ):
        (base / folder).mkdir(parents=True)
        (base / folder / "0000.html").write_text("x")
    (base / "validation" / "notes").mkdir()
    now = datetime(2026, 11, 2, tzinfo=UTC)
    removed = clean_reports(tmp_path, "bot", now, timedelta(days=7))
    assert sorted(removed) == ["2026-10-01", "judges/2026-10-01", "validation/2026-10-01"]
    assert (base / "validation" / "2026-11-01" / "0000.html").exists()
    assert (base / "validation" / "notes").is_dir()
