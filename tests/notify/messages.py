"""Neutral messages for the format and channel tests: one alert, its resolve, a group of three,
a failed window, and one whose logged values are hostile."""

from __future__ import annotations

from lookout.notify.message import AlertRef, Fact, Link, Message, Table

FINGERPRINT = "f" * 32
RUNBOOK = "https://runbooks.example.com/support-ml/p99_latency_per_route"
REPORT = "http://127.0.0.1:8765/support_bot/releases.html"


def alert_ref(fingerprint: str = FINGERPRINT, **overrides: str) -> AlertRef:
    base = dict(
        fingerprint=fingerprint,
        monitor="support_bot",
        rule="p99_latency_per_route",
        release="gpt-4.1-mini-2025-04-14@support-v8",
        cohort="route=search",
        state="firing",
    )
    return AlertRef(**{**base, **overrides})


def opened(fingerprint: str = FINGERPRINT, severity: str = "P1", **ref: str) -> Message:
    return Message(
        kind="open",
        severity=severity,
        title=f"[{severity}] support_bot: latency_p99_ms 12,873 ms > 8,000 ms",
        summary="latency_p99_ms is 12,873 ms > 8,000 ms for release "
        "gpt-4.1-mini-2025-04-14@support-v8, route=search",
        owner="support-ml",
        facts=(
            Fact("Value", "12,873 ms > 8,000 ms (n=412)"),
            Fact("Metric", "latency_p99_ms (p99 latency)"),
            Fact("Release", "gpt-4.1-mini-2025-04-14@support-v8"),
            Fact("Cohort", "route=search"),
            Fact("Window", "2026-11-03 14:00–15:00 UTC"),
            Fact("Severity", f"{severity}"),
        ),
        links=(Link("Runbook", RUNBOOK), Link("Report", REPORT)),
        alert=alert_ref(fingerprint, **ref),
    )


def resolved() -> Message:
    return Message(
        kind="resolve",
        severity="resolved",
        title="[RESOLVED] [P1] support_bot: latency_p99_ms back to 3,120 ms",
        summary="resolved: latency_p99_ms is back to 3,120 ms for release "
        "gpt-4.1-mini-2025-04-14@support-v8, route=search",
        owner="support-ml",
        facts=(Fact("Value", "3,120 ms (alerted at > 8,000 ms) (n=398)"),),
        links=(Link("Runbook", RUNBOOK),),
        alert=alert_ref(state="resolved"),
    )


def group() -> Message:
    """Three alerts one window opened for one owner, one of them with a table."""
    validation = Message(
        kind="open",
        severity="P0",
        title="[P0] support_bot: validation.status_in_set 7.20% > 1.00%",
        summary="validation.status_in_set is 7.20% > 1.00% for release v9@p3, all traffic",
        owner="support-ml",
        facts=(Fact("Value", "7.20% > 1.00% (n=1,250)"), Fact("Release", "v9@p3")),
        tables=(
            Table(
                "Failing expectations",
                ("expectation", "unexpected", "examples"),
                (("status_in_set", "90", "r-17, r-23"), ("latency_ms_not_null", "4", "r-40")),
            ),
        ),
        links=(Link("Report", REPORT),),
        alert=alert_ref("a" * 32, release="v9@p3", cohort="*", rule="status_valid"),
    )
    error_rate = Message(
        kind="open",
        severity="P1",
        title="[P1] support_bot: error_rate 4.10% > 2.00%",
        summary="error_rate is 4.10% > 2.00% for release v9@p3, route=billing",
        owner="support-ml",
        facts=(Fact("Value", "4.10% > 2.00% (n=980)"),),
        alert=alert_ref("b" * 32, release="v9@p3", cohort="route=billing", rule="errors"),
    )
    return Message(
        kind="group",
        severity="P0",
        title="[P0] support_bot: 3 alerts opened in window 2026-11-03 14:00",
        summary="3 alerts opened for support-ml (1 P0, 2 P1)",
        owner="support-ml",
        items=(validation, opened(), error_rate),
    )


def failure() -> Message:
    return Message(
        kind="failure",
        severity="P1",
        title="[P1] support_bot: window 2026-11-03 14:00 failed",
        summary="Lookout could not process support_bot 2026-11-03 14:00; its results and the "
        "watermark are unchanged and the next run retries it",
        owner="support-ml",
        facts=(Fact("Error", "SourceError: relation app_requests does not exist\nLINE 1: ..."),),
        extra={"monitor": "support_bot"},
    )


HOSTILE_RELEASE = "</style><script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_COHORT = "route=\"><a href=javascript:alert(3) x='"
HOSTILE_TITLE = "[P1] x\r\nBcc: everyone@example.com\r\n\r\n<b>forged</b>"


def hostile() -> Message:
    """Logged values that try to be markup, headers, links or control sequences."""
    return Message(
        kind="open",
        severity="P1",
        title=HOSTILE_TITLE,
        summary=f"error_rate high for release {HOSTILE_RELEASE}, {HOSTILE_COHORT}",
        owner="support-ml",
        facts=(
            Fact("Release", HOSTILE_RELEASE),
            Fact("Cohort", HOSTILE_COHORT),
            Fact("Error", "line one\x1b[31m red\x07\nRunbook: https://evil.example.com"),
            Fact("<i>label</i>", "\u202eevil\u202c"),
        ),
        tables=(Table("<script>t</script>", ('col"umn',), (("<td onclick=x>",),)),),
        links=(
            Link("click <me>", "javascript:alert(4)"),
            Link('Report" onmouseover="alert(5)', 'https://ok.example.com/a"b<c>'),
        ),
        alert=alert_ref(release=HOSTILE_RELEASE, cohort=HOSTILE_COHORT),
    )
