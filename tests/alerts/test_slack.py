"""Block Kit payloads of neutral messages (golden file, escaping) and delivery through
slack-sdk to a fake Slack."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN, WRONG_SLACK_TOKEN

from lookout.config.models import Owner
from lookout.model.alerts import AlertState
from lookout.notify.builder import AlertContext, alert_message
from lookout.notify.channels.files import FileChannel
from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import deliver
from lookout.notify.findings import Finding
from lookout.notify.formats.blockkit import to_block_kit
from lookout.notify.message import Link
from lookout.store import OutboxMessage, ResultsStore
from lookout.windows import Window

GOLDEN = Path(__file__).parent / "golden"
T = datetime(2026, 11, 3, 14, tzinfo=UTC)
WINDOW = Window(T, T + timedelta(hours=1))
OWNER = Owner(
    slack_users=["U04SUPPORT1"],
    slack_group="S05SUPPORTML",
    channel="#support-ml-alerts",
    runbook_base="https://runbooks.example.com/support-ml",
)


def _alert(**overrides) -> AlertState:
    base = dict(
        fingerprint="f" * 32,
        monitor="support_bot",
        rule="p99_latency_per_route",
        release="gpt-4.1-mini-2025-04-14@support-v8",
        cohort="route=search",
        metric="latency_p99_ms",
        severity="P1",
        owner="support-ml",
        state="firing",
        op=">",
        threshold=8000.0,
        value=12873.4,
        n=412,
        first_window_start=T,
        last_window_start=T,
        opened_at=T,
        updated_at=T,
    )
    return AlertState(**{**base, **overrides})


def build_alert_message(_id: str, alert: AlertState, window: Window, owner: Owner, **links):
    """The opening (or resolve) message of `alert`, to the owner's channel."""
    event = "resolved" if alert.state == "resolved" else "opened"
    context = AlertContext(window, owner, channel=owner.channel, **links)
    return alert_message(event, alert, context)


def _check_golden(name: str, payload: dict) -> None:
    path = GOLDEN / name
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("LOOKOUT_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), (
        f"{name} changed; rerun with LOOKOUT_UPDATE_GOLDEN=1 if intended"
    )


def test_alert_payload_matches_golden_file():
    message = build_alert_message("m1", _alert(), WINDOW, OWNER)
    payload = to_block_kit(message)
    _check_golden("alert_p99_latency.json", payload)
    text = json.dumps(payload)
    # names the owner (user + group), the numbers, window, release, cohort and the runbook
    for needle in (
        "<@U04SUPPORT1>",
        "<!subteam^S05SUPPORTML>",
        "12,873 ms",
        "8,000 ms",
        "n=412",
        "route=search",
        "gpt-4.1-mini-2025-04-14@support-v8",
        "2026-11-03 14:00",
        "https://runbooks.example.com/support-ml/p99_latency_per_route",
    ):
        assert needle in text
    assert payload["channel"] == "#support-ml-alerts"
    assert payload["text"]


def test_resolved_payload_matches_golden_file():
    alert = _alert(state="resolved", value=3100.0, n=398)
    payload = to_block_kit(build_alert_message("m2", alert, WINDOW, OWNER))
    _check_golden("alert_p99_latency_resolved.json", payload)
    header = payload["blocks"][0]["text"]["text"]
    assert header == "[RESOLVED] [P1] support_bot: p99_latency_per_route"
    text = json.dumps(payload)
    for needle in ("alerted at > 8,000 ms", "n=398", "Since", ":white_check_mark:"):
        assert needle in text


def test_the_family_page_and_run_links_are_added_when_known():
    page = Link("Release timeline", "https://reports.example.com/support_bot/releases.html")
    message = build_alert_message(
        "m3",
        _alert(),
        WINDOW,
        OWNER,
        finding=Finding(link=page),
        run_url="https://prefect.example.com/flow-runs/flow-run/abc",
    )
    context = to_block_kit(message)["blocks"][-1]["elements"][0]["text"]
    assert context == (
        "<https://runbooks.example.com/support-ml/p99_latency_per_route|Runbook>  ·  "
        "<https://reports.example.com/support_bot/releases.html|Release timeline>  ·  "
        "<https://prefect.example.com/flow-runs/flow-run/abc|Run>"
    )


def _text_objects(node, kind: str):
    """Every Block Kit text object of `kind` (mrkdwn or plain_text) in a payload."""
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _text_objects(value, kind)
    elif isinstance(node, list):
        for item in node:
            yield from _text_objects(item, kind)


HOSTILE_RELEASE = "<!channel> <https://evil.example|click> *bold* _it_ ~strike~ `code`"


@pytest.mark.parametrize("grouped", [False, True])
def test_logged_values_show_as_typed_and_cannot_ping_link_or_format(grouped):
    from lookout.notify.builder import group_message

    hostile = _alert(
        release=HOSTILE_RELEASE, cohort="route=<@U999>&x*y*", runbook="javascript:alert(1)"
    )
    message = build_alert_message("m2", hostile, WINDOW, OWNER)
    group = group_message("group", "[P1] g", "support-ml", OWNER, [message, message])
    payload = to_block_kit(group if grouped else message)
    mrkdwn = [*_text_objects(payload["blocks"], "mrkdwn"), payload["text"]]
    plain = list(_text_objects(payload["blocks"], "plain_text"))
    # logged values appear only where Slack shows them as typed
    assert any(HOSTILE_RELEASE in t for t in plain) and any(
        "route=<@U999>&x*y*" in t for t in plain
    )
    for text in mrkdwn:
        for needle in ("<!channel>", "<@U999>", "<https://evil", "*bold*", "_it_", "~strike~", "`"):
            assert needle not in text, (needle, text)
        assert "evil.example" not in text and "U999" not in text
    assert "javascript:" not in json.dumps(payload)  # non-http runbook links are dropped
    # the owner is still mentioned (the only control sequences, from validated ids)
    assert any("<@U04SUPPORT1>" in t for t in mrkdwn)


def _queue(store: ResultsStore, n: int) -> list[str]:
    from lookout.model.alerts import Transition
    from lookout.store.results import WindowCommit

    ids = [f"msg{i}" for i in range(n)]
    store.commit_window(
        WindowCommit(
            run_id=uuid.uuid4().hex,
            monitor="support_bot",
            window=WINDOW,
            started_at=T,
            finished_at=T,
            rows_read=0,
            metric_path="pandas",
            metrics=[],
            initial_frontier=WINDOW.start,
            transitions=[Transition("opened", _alert(), WINDOW)],
            messages=[
                OutboxMessage(
                    i,
                    "open",
                    "support_bot",
                    build_alert_message(i, _alert(), WINDOW, OWNER).to_json(),
                    channel="#support-ml-alerts",
                )
                for i in ids
            ],
        )
    )
    return ids


def test_delivery_through_slack_sdk_to_a_fake_slack(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _queue(store, 2)
    with fake_slack_server() as slack:
        slack.script = [429, 500]  # rate limited, then a server error: both retried
        channel = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        report = deliver(store.outbox_repo, {"slack": channel})
    assert len(report.sent) == 2 and not report.failed
    assert len(slack.posted) == 2
    assert slack.posted[0]["channel"] == "#support-ml-alerts"
    assert slack.posted[0]["blocks"][0]["type"] == "header"
    rows = store.outbox()
    assert {r.status for r in rows} == {"sent"}
    assert [r.remote_id for r in rows] == [p["ts"] for p in slack.posted]  # in order
    assert store.outbox(status="pending") == []


def test_failed_delivery_keeps_the_message_pending_and_never_leaks_the_token(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _queue(store, 1)
    with fake_slack_server() as slack:
        channel = SlackBotChannel(WRONG_SLACK_TOKEN, base_url=slack.base_url)
        report = deliver(store.outbox_repo, {"slack": channel})
        assert len(report.failed) == 1 and "invalid_auth" in report.failed[0][1]
        [row] = store.outbox(status="pending")
        assert row.attempts == 1
        assert WRONG_SLACK_TOKEN not in report.failed[0][1]
        # next delivery with the right token sends it
        fixed = deliver(
            store.outbox_repo, {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)}
        )
    assert len(fixed.sent) == 1 and store.outbox(status="pending") == []


def test_the_file_outbox_writes_one_file_per_delivery_with_the_exact_payload(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    ids = _queue(store, 2)
    report = deliver(store.outbox_repo, {"slack": FileChannel(tmp_path / "outbox")})
    assert report.via == "file" and len(report.sent) == 2
    files = sorted((tmp_path / "outbox").glob("*.json"))
    assert len(files) == len(report.sent) == 2  # what is printed is what is on disk
    for message_id, path in zip(ids, files, strict=True):
        assert "-p99_latency_per_route-open-post-" in path.name
        on_disk = json.loads(path.read_text())
        assert (on_disk["kind"], on_disk["role"], on_disk["target"]) == (
            "open",
            "post",
            "#support-ml-alerts",
        )
        message = build_alert_message(message_id, _alert(), WINDOW, OWNER)
        assert on_disk["payload"] == to_block_kit(message)
    assert deliver(store.outbox_repo, {"slack": FileChannel(tmp_path / "outbox")}).sent == ()


@pytest.mark.parametrize("count", [1])
def test_requeueing_the_same_message_id_is_a_no_op(tmp_path, count):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _queue(store, count)
    _queue(store, count)
    assert len(store.outbox()) == count
