"""Grouping: the alerts one window opens for one owner go out as one message."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import T0, unfolded
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN
from tests.test_pipeline import _ctx

from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import deliver
from lookout.pipeline import run_window
from lookout.windows import Window

H = timedelta(hours=1)


def test_one_message_per_owner_and_window_and_replies_in_its_thread(tmp_path):
    ctx = unfolded(_ctx(tmp_path, threshold=0.01))  # every group breaches in the first hour
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    alerts = ctx.store.alerts("bot")
    rows = ctx.store.outbox()
    [leader] = [r for r in rows if r.kind == "group"]
    members = [r for r in rows if r is not leader]
    assert len(alerts) == len(members) >= 3
    assert all(r.group_id == leader.message_id for r in members)  # a column, not JSON
    assert leader.payload["title"] == f"[P1] bot: {len(alerts)} alerts for team"
    text = str(leader.payload["items"])
    for alert in alerts:  # every alert of the group is in the one message
        assert alert.cohort in text and alert.release in text
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        report = deliver(ctx.store.outbox_repo, {"slack": notifier})
        assert len(report.sent) == 1 and len(report.carried) == len(members)
        assert len(slack.posted) == 1
        assert slack.posted[0]["blocks"][0]["text"]["text"] == leader.payload["title"]
        assert {r.remote_id for r in ctx.store.outbox()} == {slack.posted[0]["ts"]}
        # a later hour resolves some of them: the replies go to the group's thread
        calm = [monitor.rules[0].model_copy(update={"threshold": 0.9})]  # nothing breaches now
        run_window(ctx, monitor.model_copy(update={"rules": calm}), Window(T0 + H, T0 + 2 * H))
        deliver(ctx.store.outbox_repo, {"slack": notifier})
    replies = slack.posted[1:]
    assert replies and all(r["thread_ts"] == slack.posted[0]["ts"] for r in replies)
    assert slack.updated == []  # the group message also speaks of others: it is not edited
    ctx.close()


def test_inhibition_and_grouping_can_be_switched_off(tmp_path):
    import dataclasses

    from lookout.config.models import AlertingConfig

    ctx = _ctx(tmp_path, threshold=0.01)
    off = AlertingConfig(inhibit=False, group=False, fold=False)
    monitors = ctx.config.monitors.model_copy(update={"alerting": off})
    ctx.config = dataclasses.replace(ctx.config, monitors=monitors)
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    rows = ctx.store.outbox()
    assert len(rows) == len(ctx.store.alerts("bot")) >= 3  # one message per alert, none held
    assert all(r.group_id is None and r.kind == "open" for r in rows)
    ctx.close()
