"""The daily P2 digest: held until the day is over, then one message per owner."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

from lookout.config.loader import load_config
from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import compose_digests, deliver
from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)


def _ctx(tmp_path, threshold: float) -> Context:
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, make_requests(hours=3))
    engine.dispose()
    write_config(tmp_path / "cfg", warehouse=warehouse, store=f"sqlite:///{tmp_path / 'r.sqlite'}")
    monitors = tmp_path / "cfg" / "monitors.yml"
    text = monitors.read_text().replace("severity: P1", "severity: P2")
    monitors.write_text(text.replace("threshold: 0.2", f"threshold: {threshold}"))
    return Context.from_config(load_config(tmp_path / "cfg" / "profiles.yml", monitors))


def test_p2_alerts_wait_for_one_digest_per_owner_and_day(tmp_path):
    ctx = _ctx(tmp_path, threshold=0.01)
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    alerts = ctx.store.alerts("bot")
    assert len(alerts) >= 3 and {a.severity for a in alerts} == {"P2"}
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        held = deliver(ctx.store.outbox_repo, {"slack": notifier}, now=T0 + 2 * H)
        assert held.sent == () and held.failed == ()  # held: the day is not over
        assert compose_digests(ctx.store.outbox_repo, T0 + 12 * H) == []
        [digest_id] = compose_digests(ctx.store.outbox_repo, T0 + 25 * H)
        assert compose_digests(ctx.store.outbox_repo, T0 + 26 * H) == []  # composed once
        report = deliver(ctx.store.outbox_repo, {"slack": notifier})
        assert len(slack.posted) == 1 and len(report.sent) == 1
        assert len(report.carried) == len(alerts)  # the held openings went inside the digest
        [digest] = slack.posted
        assert digest["blocks"][0]["text"]["text"].startswith(
            f"[P2] bot: daily digest for team, {T0.date()} ({len(alerts)} alerts)"
        )
        assert all(a.cohort in str(digest["blocks"]) for a in alerts)
        # resolving later: replies go to the digest's thread; the digest is not edited
        calm = [monitor.rules[0].model_copy(update={"threshold": 0.9})]
        run_window(ctx, monitor.model_copy(update={"rules": calm}), Window(T0 + H, T0 + 2 * H))
        deliver(ctx.store.outbox_repo, {"slack": notifier})
    replies = slack.posted[1:]
    assert replies and all(r["thread_ts"] == digest["ts"] for r in replies)
    assert slack.updated == []
    assert digest_id in {r.message_id for r in ctx.store.outbox()}
    ctx.close()
