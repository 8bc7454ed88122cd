"""The email (text, HTML) and PagerDuty formats: golden files, and hostile logged values.

Regenerate the golden files on purpose with `LOOKOUT_UPDATE_GOLDEN=1`."""

from __future__ import annotations

import json
import os
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.notify.messages import (
    FINGERPRINT,
    HOSTILE_COHORT,
    HOSTILE_RELEASE,
    alert_ref,
    failure,
    group,
    hostile,
    opened,
    resolved,
)

from lookout.notify.formats.html import to_html
from lookout.notify.formats.pagerduty import MAX_SUMMARY_CHARS, to_events
from lookout.notify.formats.text import subject, to_text
from lookout.notify.message import Message

GOLDEN = Path(__file__).parent / "golden"


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LOOKOUT_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; rerun with LOOKOUT_UPDATE_GOLDEN=1 if intended"
    )


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- golden files ---------------------------------------------------------------------------


def test_email_text_of_one_alert_matches_golden_file():
    text = to_text(opened())
    _check_golden("email_alert.txt", text)
    for needle in ("12,873 ms > 8,000 ms (n=412)", "route=search", "Owner: support-ml"):
        assert needle in text
    assert "Runbook: https://runbooks.example.com/support-ml/p99_latency_per_route" in text


def test_email_html_of_one_alert_matches_golden_file():
    html = to_html(opened())
    _check_golden("email_alert.html", html)
    assert '<a href="https://runbooks.example.com/support-ml/p99_latency_per_route"' in html


def test_one_email_lists_every_alert_of_a_group():
    message = group()
    text, html = to_text(message), to_html(message)
    _check_golden("email_group.txt", text)
    _check_golden("email_group.html", html)
    for body in (text, unescape(html)):
        for item in message.items:
            assert item.title.split(": ")[1] in body  # each alert of the three
        assert "status_in_set" in body and "r-17, r-23" in body  # the table of the first
    assert "1. [P0]" in text and "2. [P1]" in text and "3. [P1]" in text


def test_pagerduty_events_match_golden_file():
    events = {
        "open": to_events(opened(severity="P0")),
        "resolve": to_events(resolved()),
        "ack": to_events(Message("ack", "P1", "ack", "", "support-ml", alert=alert_ref())),
        "group": to_events(group()),
        "failure": to_events(failure()),
    }
    _check_golden("pagerduty_events.json", _json(events))
    [trigger] = events["open"]
    assert trigger["dedup_key"] == FINGERPRINT
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "support_bot"
    assert trigger["payload"]["component"] == "gpt-4.1-mini-2025-04-14@support-v8"
    assert trigger["payload"]["group"] == "route=search"
    assert trigger["payload"]["custom_details"]["Value"] == "12,873 ms > 8,000 ms (n=412)"
    assert events["resolve"] == [{"event_action": "resolve", "dedup_key": FINGERPRINT}]
    assert events["ack"] == [{"event_action": "acknowledge", "dedup_key": FINGERPRINT}]
    # a group: one incident per alert in it, each at its own severity
    assert [(e["dedup_key"][0], e["payload"]["severity"]) for e in events["group"]] == [
        ("a", "critical"),
        ("f", "error"),
        ("b", "error"),
    ]
    assert events["failure"][0]["dedup_key"] == "lookout:support_bot:window-failure"
    assert "routing_key" not in _json(events)  # added by the channel, never rendered


@pytest.mark.parametrize(
    ("severity", "expected"), [("P0", "critical"), ("P1", "error"), ("P2", "warning")]
)
def test_pagerduty_severity_mapping(severity, expected):
    [event] = to_events(opened(severity=severity))
    assert event["payload"]["severity"] == expected


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("open", "trigger"),
        ("reopen", "trigger"),
        ("severity_change", "trigger"),
        ("resolve", "resolve"),
        ("stale", "resolve"),
        ("ack", "acknowledge"),
        ("reminder", None),
        ("update", None),
    ],
)
def test_pagerduty_action_per_kind(kind, action):
    message = Message(kind, "P1", "t", "s", "o", alert=alert_ref())
    events = to_events(message)
    assert [e["event_action"] for e in events] == ([action] if action else [])
    assert all(e["dedup_key"] == FINGERPRINT for e in events)


def test_pagerduty_refuses_what_it_cannot_key():
    with pytest.raises(ValueError, match="carries no alert"):
        to_events(Message("open", "P1", "t", "s", "o"))
    with pytest.raises(ValueError, match="needs its monitor"):
        to_events(Message("failure", "P1", "t", "s", "o"))
    with pytest.raises(ValueError, match="severity 'resolved'"):
        to_events(Message("open", "resolved", "t", "s", "o", alert=alert_ref()))


def test_pagerduty_summary_is_clipped_to_1024_characters():
    long = Message("open", "P1", "x" * 5000, "s", "o", alert=alert_ref())
    [event] = to_events(long)
    assert len(event["payload"]["summary"]) == MAX_SUMMARY_CHARS
    assert event["payload"]["summary"].endswith("…")


# -- hostile logged values ------------------------------------------------------------------


ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "div", "h1", "h2", "p", "strong", "span"}
ALLOWED_TAGS |= {"table", "tr", "td", "th", "a"}
ALLOWED_ATTRIBUTES = {"style", "href", "role", "charset", "http-equiv", "content", "name", "lang"}


class _Elements(HTMLParser):
    """Every element with its attributes, and the text content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_email_keeps_hostile_values_as_text():
    html = to_html(hostile())
    parsed = _Elements()
    parsed.feed(html)
    tags = {tag for tag, _ in parsed.elements}
    assert tags <= ALLOWED_TAGS, tags
    for tag, attrs in parsed.elements:
        assert set(attrs) <= ALLOWED_ATTRIBUTES, (tag, attrs)  # no on*, no src
    hrefs = [attrs["href"] for tag, attrs in parsed.elements if tag == "a"]
    assert hrefs == ['https://ok.example.com/a"b<c>']  # javascript: is not a link
    text = "".join(parsed.text)
    # the values are there to read, exactly as logged (less control characters)
    assert HOSTILE_RELEASE in text and HOSTILE_COHORT in text
    assert "javascript:alert(4) (not a web link)" in text
    assert "\x1b" not in html and "\x07" not in html and "\u202e" not in html
    assert "<script>" not in html and "</style><" not in html


def test_html_email_runs_nothing_and_loads_nothing_in_headless_chromium(tmp_path):
    path = tmp_path / "email.html"
    path.write_text(to_html(hostile()), encoding="utf-8")
    executable = "/usr/bin/chromium"
    if not os.path.exists(executable):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.hover("a")  # the link whose label tried an onmouseover
            body = page.inner_text("body")
        finally:
            browser.close()
    assert dialogs == []
    assert requests == [path.as_uri()]  # no image, font or style was fetched
    assert HOSTILE_RELEASE in body


def test_subject_is_one_line_whatever_the_title_holds():
    line = subject(hostile())
    assert "\r" not in line and "\n" not in line
    assert line == "[P1] x Bcc: everyone@example.com <b>forged</b>"
    assert subject(Message("open", "P1", "\u2028a\x85b\x0bc" + "y" * 500, "", "o")).startswith(
        "a b c"
    )
    assert len(subject(Message("open", "P1", "y" * 500, "", "o"))) == 200


def test_text_email_cannot_be_given_a_line_of_lookouts_own():
    text = to_text(hostile())
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    lines = text.splitlines()
    # the logged error's second line stays indented under its label
    assert "Runbook: https://evil.example.com" not in [line.lstrip("=") for line in lines]
    assert any(
        line.startswith(" ") and line.strip() == "Runbook: https://evil.example.com"
        for line in lines
    )
    assert "Bcc:" not in lines[0].split(" x ")[0]
    assert lines[0] == "[P1] x Bcc: everyone@example.com <b>forged</b>"
    [link] = [line for line in lines if line.startswith("click <me>:")]
    assert link.endswith(" (not a web link) javascript:alert(4)")
