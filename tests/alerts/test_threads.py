"""Resolve messages: a reply in the original's thread and an update of the original, in order,
through the real slack-sdk clients against the fake Slack Web API and webhook on 127.0.0.1."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from tests.alerts.test_slack import OWNER, WINDOW, _alert
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

from lookout.model.alerts import Transition
from lookout.notify.builder import AlertContext, alert_message
from lookout.notify.channels.slack import SlackBotChannel, SlackWebhookChannel
from lookout.notify.delivery import deliver
from lookout.store import OutboxMessage, ResultsStore
from lookout.store.results import WindowCommit

LATER = replace(
    WINDOW, start=WINDOW.start + timedelta(hours=3), end=WINDOW.end + timedelta(hours=3)
)


ROOT = f"opened-{WINDOW.start:%H}"
_KIND = {"opened": "open", "resolved": "resolve", "reminder": "reminder"}


def _commit(store: ResultsStore, window, event: str, alert) -> None:
    """Queue an alert transition's messages as the queue would: a reply and the edit of the
    original point at the opening explicitly."""
    context = AlertContext(window, OWNER, channel="#support-ml-alerts")
    message = alert_message(event, alert, context)
    root = None if event == "opened" else ROOT
    messages = [
        OutboxMessage(
            f"{event}-{window.start:%H}",
            _KIND[event],
            "support_bot",
            message.to_json(),
            channel="#support-ml-alerts",
            fingerprint=alert.fingerprint,
            reply_to=root,
        )
    ]
    if event == "resolved":
        messages.append(
            OutboxMessage(
                f"update-{window.start:%H}",
                "update",
                "support_bot",
                message.to_json(),
                channel="#support-ml-alerts",
                fingerprint=alert.fingerprint,
                edits=ROOT,
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
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        _commit(store, WINDOW, "opened", _alert())
        assert len(deliver(store.outbox_repo, {"slack": notifier}).sent) == 1
        resolved = _alert(state="resolved", value=0.01, last_window_start=LATER.start)
        _commit(store, LATER, "resolved", resolved)
        report = deliver(store.outbox_repo, {"slack": notifier})
    assert [r.kind for r in report.sent] == ["resolve", "update"]
    original, reply = slack.posted
    assert "thread_ts" not in original
    assert reply["thread_ts"] == original["ts"] and reply["channel"] == "C1"
    assert reply["blocks"][0]["text"]["text"].startswith("[RESOLVED] [P1]")
    [update] = slack.updated
    assert (update["channel"], update["ts"]) == ("C1", original["ts"])
    assert update["blocks"][0]["text"]["text"].startswith("[RESOLVED]")
    assert "back to" in update["blocks"][1]["text"]["text"]
    assert store.outbox(status="pending") == []


def test_an_outage_then_everything_once_and_in_order(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        slack.down = True
        for _ in range(3):  # every run during the outage fails; nothing is dropped or skipped
            report = deliver(store.outbox_repo, {"slack": notifier})
            assert report.sent == () and len(report.failed) == 1  # the reply waits its turn
        assert len(store.outbox(status="pending")) == 3
        slack.down = False
        report = deliver(store.outbox_repo, {"slack": notifier})
        again = deliver(store.outbox_repo, {"slack": notifier})
    assert [r.kind for r in report.sent] == ["open", "resolve", "update"]
    assert again.sent == () and again.failed == ()
    assert len(slack.posted) == 2 and len(slack.updated) == 1  # exactly once each
    assert slack.posted[1]["thread_ts"] == slack.posted[0]["ts"]


def test_a_reply_waits_while_its_original_is_failing(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        # the original hits errors beyond the client's retries: it fails, the reply waits
        slack.script = [500, 500, 500]
        first = deliver(
            store.outbox_repo, {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)}
        )
        assert [r.kind for r, _ in first.failed] == ["open"] and first.sent == ()
        second = deliver(
            store.outbox_repo, {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)}
        )
    assert [r.kind for r in second.sent] == ["open", "resolve", "update"]


def test_webhook_posts_the_resolve_as_a_message_and_cannot_update(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    with fake_slack_server() as slack:
        report = deliver(
            store.outbox_repo, {"slack": SlackWebhookChannel(f"{slack.base_url}/webhook")}
        )
    assert [r.kind for r in report.sent] == ["open", "resolve"]
    assert [r.kind for r in report.skipped] == ["update"]  # a webhook cannot edit
    assert len(slack.webhook) == 2 and "thread_ts" not in slack.webhook[1]
    assert slack.webhook[1]["blocks"][0]["text"]["text"].startswith("[RESOLVED]")
    assert slack.updated == []


def test_a_reminder_is_a_reply_in_the_thread(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _commit(store, WINDOW, "opened", _alert())
    _commit(store, LATER, "reminder", _alert(last_window_start=LATER.start))
    with fake_slack_server() as slack:
        report = deliver(
            store.outbox_repo, {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)}
        )
    assert [r.kind for r in report.sent] == ["open", "reminder"]
    original, reminder = slack.posted
    assert reminder["thread_ts"] == original["ts"]
    assert reminder["blocks"][0]["text"]["text"].startswith("[REMINDER] [P1] support_bot:")
    assert "still firing since 2026-11-03 14:00 UTC" in reminder["blocks"][1]["text"]["text"]
