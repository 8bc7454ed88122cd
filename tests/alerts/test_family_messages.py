"""One alert of each metric family as Slack Block Kit (golden files), built by the real builder
from what the stages found, and how every kind of message reads (open, reopen, reminder,
severity change, resolve, stale, group and digest items).

Regenerate the golden files on purpose with LOOKOUT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.alerts.test_slack import OWNER, _check_golden

from lookout.checks.evaluators.summary import JudgedExample
from lookout.checks.validation.runner import ExpectationOutcome
from lookout.checks.validation.stage import ValidationResult
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import AlertState
from lookout.notify.builder import AlertContext, alert_message, group_message
from lookout.notify.findings import (
    MAX_CELL_CHARS,
    MAX_TABLE_ROWS,
    Finding,
    drift_finding,
    evaluator_finding,
    page_kind,
    validation_finding,
)
from lookout.notify.formats.blockkit import to_block_kit
from lookout.notify.formats.text import to_text
from lookout.notify.message import Fact, Link
from lookout.stages.evaluators.findings import EvaluatorFindings
from lookout.stages.validation.findings import ValidationFindings
from lookout.store.drift_rows import DriftRow
from lookout.windows import Window

T = datetime(2026, 11, 4, 3, tzinfo=UTC)
WINDOW = Window(T, T + timedelta(hours=1))
R8 = "gpt-4.1-mini-2025-04-14@support-v8"
R7 = "gpt-4o-mini-2024-07-18@support-v7"
PAGES = "http://127.0.0.1:8765/support_bot"


def _alert(**overrides) -> AlertState:
    base = dict(
        fingerprint="a" * 32,
        monitor="support_bot",
        rule="data_quality",
        release=R8,
        cohort="*",
        metric="validation_failed_expectations",
        severity="P1",
        owner="support-ml",
        state="firing",
        op=">",
        threshold=0.0,
        value=2.0,
        n=12,
        first_window_start=T,
        last_window_start=T,
        opened_at=T,
        updated_at=T,
    )
    return AlertState(**{**base, **overrides})


QUARANTINED = [f"req_07000{i:05d}" for i in range(50_129, 50_129 + 168 * 37, 37)]


def _validation() -> ValidationFindings:
    def outcome(name, kind, column, status, **more):
        return ExpectationOutcome(
            name, kind, column, more.pop("severity", "warning"), R8, status, **more
        )

    outcomes = [
        outcome("not_null_record_id", "not_null", "record_id", "passed", element_count=562,
                unexpected_count=0, unexpected_percent=0.0, severity="critical"),
        outcome("between_latency_ms", "between", "latency_ms", "failed", element_count=562,
                unexpected_count=168, unexpected_percent=100 * 168 / 562,
                examples=tuple(QUARANTINED[:5]), severity="critical"),
        outcome("in_set_status", "in_set", "status", "error",
                error="ProgrammingError: operator does not exist: bigint <> character varying"),
        outcome("mean_between_latency_ms", "mean_between", "latency_ms", "passed",
                observed="2,412.8"),
    ]  # fmt: skip
    result = ValidationResult(
        outcomes=outcomes,
        quarantined={i: ("between_latency_ms",) for i in QUARANTINED},
        quarantined_release=dict.fromkeys(QUARANTINED, R8),
        rows_by_release={R8: 562},
        path="sql",
        max_share=0.2,
    )
    return ValidationFindings.from_result(result)


def _evaluators() -> EvaluatorFindings:
    reasons = [
        "entity 'Acme Vault' unsupported; 3 of 9 terms in the context",
        "number 30 unsupported; 5 of 11 terms in the context",
        "name 'Dana' not as in context; 2 of 6 terms in the context",
        "no checkable claim",
    ]
    examples = [
        JudgedExample(f"req_0700{61_000 + i}", "groundedness", R8, ("route=account", "plan=pro"),
                      "judged", round(0.05 * i, 2), reasons[i % 4], "random")
        for i in range(7)
    ]  # fmt: skip
    values = [
        MetricValue(R8, "route=account", "eval.groundedness", 58 / 74, 74, 0.677, 0.866),
        MetricValue(R8, "route=account", "eval_errors.groundedness", 0.0, 74),
    ]
    return EvaluatorFindings.from_outcome(examples, values)


DRIFT_ROW = DriftRow(
    release=R8,
    cohort="plan=enterprise",
    column="input_length",
    reference=f"release {R7} (2026-11-02)",
    kind="numeric",
    method="wasserstein",
    score=0.4213,
    threshold=0.1,
    drifted=True,
    status="ok",
    n_reference=2411,
    n_current=103,
    shift="median 412 -> 1,030, p90 905 -> 2,410",
)


def _message(event: str, alert: AlertState, finding: Finding, **ctx):
    return alert_message(
        event, alert, AlertContext(WINDOW, OWNER, OWNER.channel, finding=finding, **ctx)
    )


def _validation_alert_finding(alert: AlertState) -> Finding:
    link = Link("Validation details", f"{PAGES}/validation/2026-11-04/0300.html#release-{R8}")
    return replace(validation_finding(alert, _validation(), WINDOW), link=link)


def test_page_kind_by_family():
    assert [
        page_kind(m)
        for m in (
            "validation_failed_expectations",
            "quarantine_rate",
            "validation.between_latency_ms",
            "eval.groundedness",
            "eval_errors.judge",
            "drift.input_length",
            "drift_share",
            "latency_p95_ms",
            "error_rate",
            "traffic_ratio",
            "no_such_metric",
        )
    ] == [
        *["validation"] * 3,
        *["judges"] * 2,
        *["drift"] * 2,
        *["releases"] * 3,
        None,
    ]


def test_a_validation_alert_names_the_failing_checks_quarantine_and_examples():
    alert = _alert()
    message = _message("opened", alert, _validation_alert_finding(alert))
    payload = to_block_kit(message)
    _check_golden("alert_validation.json", payload)
    assert payload["blocks"][0]["text"]["text"] == "[P1] support_bot: data_quality"
    summary = payload["blocks"][1]["text"]["text"]
    assert summary == (
        ":warning: 2 of 4 checks failed: between_latency_ms (168 unexpected, 29.89%), "
        "in_set_status (error); 168 records quarantined (validation_failed_expectations 2 > 0) "
        f"for release {R8}, all traffic"
    )
    text = json.dumps(payload)
    assert "Quarantined\\n168 of 562 (29.89%): between_latency_ms 168" in text
    assert "Example records\\n" + ", ".join(QUARANTINED[:5]) in text
    assert "operator does not exist: bigint <> character varying" in text
    assert "mean_between_latency_ms" not in text  # a passing check is not listed
    assert "|Validation details>" in payload["blocks"][-1]["elements"][0]["text"]


def test_a_validation_rule_on_one_expectation_shows_it_first():
    alert = _alert(rule="latency_valid", metric="validation.between_latency_ms", value=0.2989,
                   threshold=0.05, n=562)  # fmt: skip
    finding = validation_finding(alert, _validation(), WINDOW)
    assert finding.headline == (
        "between_latency_ms (168 unexpected, 29.89%); 2 of 4 checks failed: in_set_status "
        "(error); 168 records quarantined"
    )
    assert [row[0] for row in finding.tables[0].rows] == ["between_latency_ms", "in_set_status"]
    quarantine = validation_finding(replace(alert, metric="quarantine_rate"), _validation(), WINDOW)
    assert quarantine.headline.startswith("168 records quarantined of 562; 2 of 4 checks failed")


def test_a_long_list_of_failing_checks_is_cut_and_says_so():
    many = [
        ExpectationOutcome(f"check_{i:02d}", "not_null", f"c{i}", "warning", R8,
                           "error" if i == 0 else "failed", error="x" * 500 if i == 0 else None)
        for i in range(14)
    ]  # fmt: skip
    finding = validation_finding(_alert(), ValidationFindings(tuple(many)), WINDOW)
    [table] = finding.tables
    assert len(table.rows) == MAX_TABLE_ROWS and "(10 of 14; the page lists all)" in table.title
    assert finding.headline.startswith(
        "14 of 14 checks failed: check_00 (error), check_01 (failed), "
    )
    assert len(table.rows[0][-1]) == MAX_CELL_CHARS and table.rows[0][-1].endswith("…")


def test_an_evaluator_alert_shows_failing_records_with_the_judges_reasons():
    alert = _alert(rule="groundedness_drop", metric="eval.groundedness", cohort="route=account",
                   op="<", threshold=0.9, value=58 / 74, n=74)  # fmt: skip
    link = Link("Judge summary", f"{PAGES}/judges/2026-11-04/0300.html#eval-groundedness")
    finding = replace(evaluator_finding(alert, _evaluators()), link=link)
    payload = to_block_kit(_message("opened", alert, finding))
    _check_golden("alert_evaluator.json", payload)
    summary = payload["blocks"][1]["text"]["text"]
    assert summary.startswith(
        ":warning: groundedness: 16 of 74 sampled records failed in this window "
        "(eval.groundedness 78.38% < 90.00%)"
    )
    table = next(b for b in payload["blocks"] if b["type"] == "section" and "text" in b
                 and b["text"]["text"].startswith("Failing records"))  # fmt: skip
    lines = table["text"]["text"].splitlines()
    assert lines[0] == f"Failing records of groundedness (release {R8}, route=account)"
    assert len(lines) == 2 + 5  # title, columns, at most five records
    assert lines[2] == "req_070061000 | 0.00 | random | " + (
        "entity 'Acme Vault' unsupported; 3 of 9 terms in the context"
    )


def test_a_drift_alert_keeps_its_method_and_score():
    alert = _alert(rule="prompt_length_drift", metric="drift.input_length",
                   cohort="plan=enterprise", op=">=", threshold=1.0, value=1.0, n=103,
                   severity="P2")  # fmt: skip
    url = f"{PAGES}/2026-11-04/{R8.replace('@', '%40')}/plan%3Denterprise.html"
    finding = replace(drift_finding(alert, [DRIFT_ROW]), link=Link("Drift report", url))
    payload = to_block_kit(_message("opened", alert, finding))
    _check_golden("alert_drift.json", payload)
    assert payload["blocks"][1]["text"]["text"] == (
        f":information_source: input_length drifted from release {R7} (2026-11-02): median "
        "412 -> 1,030, p90 905 -> 2,410; wasserstein 0.421 (floor 0.1) (drift.input_length "
        f"drifted) for release {R8}, plan=enterprise"
    )
    assert (
        "Detail\\nmedian 412 -> 1,030, p90 905 -> 2,410; wasserstein 0.421 (floor 0.1) against"
        in json.dumps(payload)
    )
    assert f"<{url}|Drift report>" in json.dumps(payload)


def test_a_drift_alert_resolved_because_a_cohort_explains_it_says_so_first():
    """A trial's resolve read "[RESOLVED] ... score drifted ...": the whole release still
    drifted, and the alert ended because plan=enterprise explains the shift."""
    alert = _alert(rule="prompt_length_drift", metric="drift.input_length", cohort="*",
                   op=">=", threshold=1.0, value=0.0, n=2011, severity="P2")  # fmt: skip
    row = replace(DRIFT_ROW, cohort="*", status="explained", explained_by="plan=enterprise")
    finding = drift_finding(alert, [row])
    assert finding.headline.startswith(
        f"input_length drifted, explained by plan=enterprise, from release {R7}"
    )


def test_an_ops_change_alert_says_what_changed_against_the_reference():
    alert = _alert(rule="p95_latency_vs_previous", metric="latency_p95_ms", cohort="route=search",
                   threshold=2643 * 1.3, value=4298.0, n=1873, reference=2643.0,
                   reference_label=f"release {R7}")  # fmt: skip
    finding = Finding(link=Link("Release timeline", f"{PAGES}/releases.html"))
    payload = to_block_kit(_message("opened", alert, finding))
    _check_golden("alert_ops_change.json", payload)
    assert payload["blocks"][1]["text"]["text"] == (
        f":warning: latency_p95_ms 4,298 ms vs 2,643 ms in release {R7} (+63%) "
        f"for release {R8}, route=search"
    )
    text = json.dumps(payload)
    assert f"Reference\\n2,643 ms (release {R7})" in text and "Since\\n2026-11-04 03:00 UTC" in text


# -- every kind of message -----------------------------------------------------------------------

LATER = Window(T + timedelta(hours=5), T + timedelta(hours=6))


def _kind(event: str, alert: AlertState, window: Window = LATER, **ctx):
    finding = _validation_alert_finding(alert)
    return alert_message(
        event, alert, AlertContext(window, OWNER, OWNER.channel, finding=finding, **ctx)
    )


def test_each_kind_reads_as_what_happened():
    firing = _alert(last_window_start=LATER.start)
    where = f"release {R8}, all traffic"
    what = (
        "2 of 4 checks failed: between_latency_ms (168 unexpected, 29.89%), in_set_status (error)"
    )

    reopen = _kind("reopened", firing)
    assert reopen.kind == "reopen" and reopen.title == "[P1] support_bot: data_quality"
    assert reopen.summary.startswith(f"again: {what}")

    reminder = _kind("reminder", firing)
    assert reminder.title == "[REMINDER] [P1] support_bot: data_quality"
    assert reminder.summary.startswith(f"still firing since 2026-11-04 03:00 UTC (6h): {what}")

    escalated = _kind("severity_changed", replace(firing, severity="P0"), previous_severity="P1")
    assert escalated.title == "[P0] support_bot: data_quality escalated from P1"
    assert escalated.summary.startswith(f"escalated from P1 to P0: {what}")
    assert escalated.tables  # what still fails

    resolved = _kind("resolved", replace(firing, state="resolved", value=0.0))
    assert resolved.title == "[RESOLVED] [P1] support_bot: data_quality"
    assert resolved.summary.startswith(
        "resolved after 6h (since 2026-11-04 03:00 UTC): validation_failed_expectations back "
        f"to 0 (alerted at > 0) for {where} — "
    )
    assert resolved.tables == () and resolved.severity == "resolved"

    stale = _kind("stale", replace(firing, state="resolved", last_window_start=T))
    assert stale.title == "[STALE] [P1] support_bot: data_quality"
    assert stale.summary == f"no data for {where} since 2026-11-04 03:00 UTC: resolved as stale"
    assert stale.tables == () and [link.label for link in stale.links] == ["Runbook"]

    for message in (reopen, reminder, escalated, resolved, stale):
        facts = {f.label: f.value for f in message.facts}
        assert facts["Since"] == "2026-11-04 03:00 UTC (6h)"
        assert "Monitor" not in facts and "Owner" not in facts  # in the title and owner line


@pytest.mark.parametrize("kind", ["group", "digest"])
def test_group_and_digest_items_say_what_is_wrong(kind):
    alert = _alert()
    items = [
        _message("opened", alert, _validation_alert_finding(alert)),
        _message("opened", _alert(rule="errors", metric="error_rate", threshold=0.05,
                                  value=0.0931, n=1204), Finding()),
    ]  # fmt: skip
    message = group_message(
        kind, "[P1] support_bot: 2 alerts for support-ml", "support-ml", OWNER, items
    )
    sections = [
        b["text"]["text"] for b in to_block_kit(message)["blocks"] if b["type"] == "section"
    ]
    assert "between_latency_ms (168 unexpected, 29.89%)" in sections[0]
    assert "error_rate 9.31% > 5.00%" in sections[1]
    text = to_text(message)
    assert "1. [P1] support_bot: data_quality" in text and "Failing checks of release" in text


def test_more_facts_than_a_slack_section_takes_go_in_a_second_section():
    alert = _alert(reference=1.0, reference_label="release v7")
    finding = Finding(facts=tuple(Fact(f"Extra {i}", str(i)) for i in range(4)))
    payload = to_block_kit(_message("opened", alert, finding))
    fields = [b["fields"] for b in payload["blocks"] if "fields" in b]
    assert [len(f) for f in fields] == [10, 2]  # 7 + reference + 4: nothing dropped
    assert fields[1][-1]["text"] == "Extra 3\n3"
