"""Resolve messages: a reply in the original's thread and an update of the original, in order,
through the real slack-sdk clients against the fake Slack Web API and webhook on 127.0.0.1."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from tests.alerts.test_slack import OWNER, WINDOW, _alert
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

from lookout.alerts.blockkit import to_block_kit
from lookout.alerts.lifecycle import Transition
from lookout.alerts.messages import build_alert_message
from lookout.alerts.notifier import SlackBotNotifier, SlackWebhookNotifier, deliver_outbox
from lookout.store import OutboxMessage, ResultsStore
from lookout.store.results import WindowCommit

LATER = replace(
    WINDOW, start=WINDOW.start + timedelta(hours=3), end=WINDOW.end + timedelta(hours=3)
)


def _commit(store: ResultsStore, window, event: str, alert) -> None:
    message = build_alert_message(
        f"{event}-{window.start:%H}", alert, window, OWNER, reminder=event == "reminder"
    )
    messages = [
        OutboxMessage(
            message.message_id,
            f"alert_{event}",
            "support_bot",
            to_block_kit(message),
            channel="#support-ml-alerts",
            fingerprint=alert.fingerprint,
        )
    ]
    if event == "resolved":
        messages.append(
            OutboxMessage(
                f"update-{window.start:%H}",
                "alert_update",
                "support_bot",
                to_block_kit(message),
                channel="#support-ml-alerts",
                fingerprint=alert.fingerprint,
            )
        )
    store.commit_window(
        WindowCommit(
            run_id=uuid.uuid4().hex,
            monitor="support_bot",
            window=window,
            started_at=window.end,
            finished_at=window.end,
            rows_read=0,
            metric_path="pandas",
            metrics=[],
            initial_frontier=window.start,
            transitions=[Transition(event, alert, window)],
            messages=messages,
        )
    )


def _open_then_resolve(store: ResultsStore) -> None:
    _commit(store, WINDOW, "opened", _alert())
    resolved = _alert(state="resolved", value=0.01, last_window_start=LATER.start)
    _commit(store, LATER, "resolved", resolved)


def test_resolve_replies_in_the_thread_and_updates_the_original(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with fake_slack_server() as slack:
        notifier = SlackBotNotifier(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        _commit(store, WINDOW, "opened", _alert())
        assert len(deliver_outbox(store, notifier).sent) == 1
        resolved = _alert(state="resolved", value=0.01, last_window_start=LATER.start)
        _commit(store, LATER, "resolved", resolved)
        report = deliver_outbox(store, notifier)
    assert [r.kind for r in report.sent] == ["alert_resolved", "alert_update"]
    original, reply = slack.posted
    assert "thread_ts" not in original
    assert reply["thread_ts"] == original["ts"] and reply["channel"] == "C1"
    assert reply["blocks"][0]["text"]["text"].startswith("[RESOLVED] [P1]")
    [update] = slack.updated
    assert (update["channel"], update["ts"]) == ("C1", original["ts"])
    assert "back to" in update["blocks"][0]["text"]["text"]
    assert store.outbox(status="pending") == []


def test_an_outage_then_everything_once_and_in_order(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        notifier = SlackBotNotifier(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        slack.down = True
        for _ in range(3):  # every run during the outage fails; nothing is dropped or skipped
            report = deliver_outbox(store, notifier)
            assert report.sent == () and len(report.failed) == 1  # the reply waits its turn
        assert len(store.outbox(status="pending")) == 3
        slack.down = False
        report = deliver_outbox(store, notifier)
        again = deliver_outbox(store, notifier)
    assert [r.kind for r in report.sent] == ["alert_opened", "alert_resolved", "alert_update"]
    assert again.sent == () and again.failed == ()
    assert len(slack.posted) == 2 and len(slack.updated) == 1  # exactly once each
    assert slack.posted[1]["thread_ts"] == slack.posted[0]["ts"]


def test_a_reply_waits_while_its_original_is_failing(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        # the original hits errors beyond the client's retries: it fails, the reply waits
        slack.script = [500, 500, 500]
        first = deliver_outbox(store, SlackBotNotifier(FAKE_SLACK_TOKEN, base_url=slack.base_url))
        assert [r.kind for r, _ in first.failed] == ["alert_opened"] and first.sent == ()
        second = deliver_outbox(store, SlackBotNotifier(FAKE_SLACK_TOKEN, base_url=slack.base_url))
    assert [r.kind for r in second.sent] == ["alert_opened", "alert_resolved", "alert_update"]


def test_webhook_posts_the_resolve_as_a_message_and_cannot_update(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        report = deliver_outbox(store, SlackWebhookNotifier(f"{slack.base_url}/webhook"))
    assert [r.kind for r in report.sent] == ["alert_opened", "alert_resolved", "alert_update"]
    assert len(slack.webhook) == 2 and "thread_ts" not in slack.webhook[1]
    assert slack.webhook[1]["blocks"][0]["text"]["text"].startswith("[RESOLVED]")
    assert slack.updated == []


def test_a_reminder_is_a_reply_in_the_thread(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _commit(store, WINDOW, "opened", _alert())
    _commit(store, LATER, "reminder", _alert(last_window_start=LATER.start))
    with fake_slack_server() as slack:
        report = deliver_outbox(store, SlackBotNotifier(FAKE_SLACK_TOKEN, base_url=slack.base_url))
    assert [r.kind for r in report.sent] == ["alert_opened", "alert_reminder"]
    original, reminder = slack.posted
    assert reminder["thread_ts"] == original["ts"]
    assert reminder["blocks"][0]["text"]["text"].startswith("[REMINDER] [P1] support_bot:")
    assert "still firing since 2026-11-03 14:00 UTC" in reminder["blocks"][1]["text"]["text"]
