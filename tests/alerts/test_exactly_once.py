"""Exactly-once Slack delivery: a message whose send may have reached Slack (no answer came) is
looked up by its metadata before a re-send, through the real slack-sdk WebClient against the
fake Slack Web API on 127.0.0.1 and a real results store."""

from __future__ import annotations

import logging
import socket

import pytest
from tests.alerts.test_slack import _queue
from tests.alerts.test_threads import LATER, WINDOW, _alert, _commit, _open_then_resolve
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

from lookout.notify.channels.files import FileChannel
from lookout.notify.channels.slack import SlackBotChannel, SlackWebhookChannel
from lookout.notify.delivery import deliver
from lookout.store import ResultsStore

TIMEOUT = 0.5  # seconds the client waits for Slack's answer (15 in production)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _bot(slack) -> SlackBotChannel:
    """A fresh notifier, as a new process would have (no channel ids cached)."""
    return SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url, timeout=TIMEOUT)


def test_a_timeout_after_slack_accepted_the_post_is_not_posted_again(store):
    ids = _queue(store, 3)
    with fake_slack_server() as slack:
        slack.stall = 1  # Slack takes the first post but its answer never comes in time
        slack.page_size = 1  # every listing is paginated
        first = deliver(store.outbox_repo, {"slack": _bot(slack)})
        [(row, error)] = first.failed
        assert row.message_id == ids[0] and error == f"message {ids[0]}: TimeoutError"
        [pending] = store.outbox(status="pending")
        assert pending.sending_at is not None and pending.attempts == 1
        second = deliver(store.outbox_repo, {"slack": _bot(slack)})
        again = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.message_id for r in second.sent] == [ids[0]] and second.failed == ()
    assert again.sent == () and again.failed == ()
    assert slack.calls("chat.postMessage") == 3 and len(slack.posted) == 3  # once each
    assert slack.calls("conversations.list") == 1 and slack.calls("conversations.history") == 3
    stalled = next(
        p for p in slack.posted if p["metadata"]["event_payload"]["message_id"] == ids[0]
    )
    row = store.outbox_row(ids[0])
    assert (row.status, row.remote_id, row.remote_channel) == ("sent", stalled["ts"], "C1")
    assert row.sending_at is None
    # the queued message went out as its Block Kit, plus the metadata that finds it again
    from lookout.notify.delivery import message_of
    from lookout.notify.formats.blockkit import to_block_kit

    sent = {k: v for k, v in stalled.items() if k not in ("metadata", "channel_id", "ts")}
    assert sent == to_block_kit(message_of(row))
    assert stalled["metadata"] == {
        "event_type": "lookout_message",
        "event_payload": {"message_id": ids[0]},
    }


def test_a_connection_dropped_after_slack_took_the_post_is_not_retried_blindly(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    [message_id] = _queue(store, 1)
    with fake_slack_server() as slack:
        slack.drop = 1  # Slack takes the post and hangs up before answering
        first = deliver(store.outbox_repo, {"slack": _bot(slack)})
        assert first.failed[0][1] == f"message {message_id}: RemoteDisconnected"
        assert slack.calls("chat.postMessage") == 1  # slack-sdk did not repeat it
        second = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.message_id for r in second.sent] == [message_id] and len(slack.posted) == 1
    assert store.outbox_row(message_id).remote_id == slack.posted[0]["ts"]


@pytest.mark.parametrize("outage", ["server errors", "down", "unreachable"])
def test_a_send_that_failed_before_slack_took_it_is_posted_once_later(tmp_path, outage):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    [message_id] = _queue(store, 1)
    with fake_slack_server() as slack:
        if outage == "server errors":
            slack.script = [500, 500, 500]  # beyond the client's retries
        slack.down = outage == "down"
        base_url = (
            f"http://127.0.0.1:{_closed_port()}/api/" if outage == "unreachable" else slack.base_url
        )
        first = deliver(
            store.outbox_repo, {"slack": SlackBotChannel(FAKE_SLACK_TOKEN, base_url=base_url)}
        )
        assert first.sent == () and len(first.failed) == 1
        slack.down = False
        second = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.message_id for r in second.sent] == [message_id]
    assert len(slack.posted) == 1 and store.outbox(status="pending") == []
    # a 5xx may come after the post was made: looked up (nothing found) before the re-send;
    # a connection that never opened cannot have posted anything: no lookup
    looked_up = slack.calls("conversations.history")
    assert looked_up == (0 if outage == "unreachable" else 1)


def test_a_lookup_that_fails_for_now_waits_instead_of_posting_again(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    [message_id] = _queue(store, 1)
    with fake_slack_server() as slack:
        slack.stall = 1
        deliver(store.outbox_repo, {"slack": _bot(slack)})
        slack.down = True  # the lookup cannot tell: no re-send that could double the message
        waiting = deliver(store.outbox_repo, {"slack": _bot(slack)})
        assert waiting.sent == () and "looking it up failed" in waiting.failed[0][1]
        assert store.outbox_row(message_id).sending_at is not None
        slack.down = False
        found = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.message_id for r in found.sent] == [message_id]
    assert (
        len(slack.posted) == 1 and store.outbox_row(message_id).remote_id == slack.posted[0]["ts"]
    )


@pytest.mark.parametrize("error", ["missing_scope", "not_in_channel"])
def test_a_lookup_slack_refuses_sends_again_with_a_warning(tmp_path, caplog, error):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    [message_id] = _queue(store, 1)
    caplog.set_level(logging.DEBUG)
    with fake_slack_server() as slack:
        slack.stall = 1
        deliver(store.outbox_repo, {"slack": _bot(slack)})
        slack.lookup_error = error  # e.g. a token without channels:history
        report = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.message_id for r in report.sent] == [message_id] and report.failed == ()
    assert len(slack.posted) == 2  # at least once: the stalled post went through after all
    row = store.outbox_row(message_id)
    assert row.status == "sent" and row.remote_id == slack.posted[1]["ts"]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert message_id in warning.getMessage() and error in warning.getMessage()
    if error == "missing_scope":  # the first lookup turns the channel name into its id
        assert "(needs channels:read)" in warning.getMessage()
    assert FAKE_SLACK_TOKEN not in caplog.text


def test_a_thread_reply_in_doubt_is_found_among_the_replies(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with fake_slack_server() as slack:
        _commit(store, WINDOW, "opened", _alert())
        assert len(deliver(store.outbox_repo, {"slack": _bot(slack)}).sent) == 1
        resolved = _alert(state="resolved", value=0.01, last_window_start=LATER.start)
        _commit(store, LATER, "resolved", resolved)
        slack.stall = 1  # the reply is taken, its answer lost; the update waits its turn
        first = deliver(store.outbox_repo, {"slack": _bot(slack)})
        assert first.sent == () and [r.kind for r, _ in first.failed] == ["resolve"]
        second = deliver(store.outbox_repo, {"slack": _bot(slack)})
    assert [r.kind for r in second.sent] == ["resolve", "update"]
    original, reply = slack.posted  # the reply exactly once
    assert reply["thread_ts"] == original["ts"]
    assert slack.calls("conversations.replies") == 1 and slack.calls("conversations.history") == 0
    [row] = [r for r in store.outbox() if r.kind == "resolve"]
    assert (row.remote_id, row.remote_channel) == (reply["ts"], "C1")
    assert len(slack.updated) == 1


def test_a_webhook_cannot_look_up_and_sends_again_with_a_warning(tmp_path, caplog):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _open_then_resolve(store)
    opening = store.outbox()[0]
    # a process died mid-send
    store.outbox_repo.mark_sending(opening.message_id, opening.created_at)
    with fake_slack_server() as slack:
        report = deliver(
            store.outbox_repo, {"slack": SlackWebhookChannel(f"{slack.base_url}/webhook")}
        )
    assert len(report.sent) == 2 and len(slack.webhook) == 2
    assert [r.kind for r in report.skipped] == ["update"]  # a webhook cannot edit
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert opening.message_id in warning.getMessage() and "webhook" in warning.getMessage()


def test_a_file_outbox_rewrites_the_same_file_without_a_warning(tmp_path, caplog):
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    [message_id] = _queue(store, 1)
    store.outbox_repo.mark_sending(message_id, store.outbox()[0].created_at)
    report = deliver(store.outbox_repo, {"slack": FileChannel(tmp_path / "outbox")})
    [written] = (tmp_path / "outbox").glob(f"*-{message_id[:12]}.json")
    assert len(report.sent) == 1 and written.exists()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
