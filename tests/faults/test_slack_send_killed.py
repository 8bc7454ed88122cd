"""The process delivering the outbox is killed with SIGKILL while its chat.postMessage is in
flight (Slack took the message, the answer had not come back): the next delivery finds the
message in Slack by its metadata, records it as sent and posts nothing new."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from tests.alerts.test_slack import _queue
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import deliver
from lookout.store import ResultsStore

SENDER = """
import os, sys
from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import deliver
from lookout.store import ResultsStore

store_url, base_url = sys.argv[1:3]
notifier = SlackBotChannel(os.environ["TEST_SLACK_TOKEN"], base_url=base_url, timeout=120)
deliver(ResultsStore(store_url).outbox_repo, {"slack": notifier})
print("not killed")
"""


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_during_the_slack_send_then_the_rerun_posts_nothing_new(request, tmp_path, backend):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    else:
        url = request.getfixturevalue("pg_database")
    store = ResultsStore(url)
    [message_id] = _queue(store, 1)
    with fake_slack_server() as slack:
        slack.stall = 1  # Slack takes the post; its answer is held until the server stops
        env = {**os.environ, "TEST_SLACK_TOKEN": FAKE_SLACK_TOKEN}
        child = subprocess.Popen(
            [sys.executable, "-c", SENDER, url, slack.base_url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not slack.posted:  # the request is in flight
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline, "the child never posted"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL, out + err
        [row] = store.outbox()
        assert row.status == "pending" and row.attempts == 0  # no outcome was recorded...
        assert row.sending_at is not None  # ...but the send under way was, before the request
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url, timeout=5)
        report = deliver(store.outbox_repo, {"slack": notifier})
    assert [r.message_id for r in report.sent] == [message_id] and report.failed == ()
    assert slack.calls("chat.postMessage") == 1 and len(slack.posted) == 1
    row = store.outbox_row(message_id)
    assert (row.status, row.remote_id, row.remote_channel) == ("sent", slack.posted[0]["ts"], "C1")
    assert row.sending_at is None
    store.dispose()
