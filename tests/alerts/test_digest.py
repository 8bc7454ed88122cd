"""The daily P2 digest: held until the day is over, then one message per owner."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.conftest import (
    T0,
    duckdb_project,
    make_requests,
    unfolded,
    write_config,
    write_table,
)
from tests.fakes import fake_slack_server, outbox_files
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN
from typer.testing import CliRunner

from lookout.cli import app
from lookout.cli.summary import run_summary_line
from lookout.config.loader import load_config
from lookout.notify.channels.slack import SlackBotChannel
from lookout.notify.delivery import compose_digests, deliver
from lookout.pipeline import Context, run_window
from lookout.store import ResultsStore
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
    ctx = unfolded(_ctx(tmp_path, threshold=0.01))
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    alerts = ctx.store.alerts("bot")
    assert len(alerts) >= 3 and {a.severity for a in alerts} == {"P2"}
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        held = deliver(ctx.store.outbox_repo, {"slack": notifier}, now=T0 + 2 * H)
        assert held.sent == () and held.failed == ()  # held: the day is not over
        # and the run's last line says so ("11 alerts opened, 0 delivered" puzzled a user)
        waiting = ctx.store.outbox_repo.held_count()
        assert waiting == len(alerts)
        line = run_summary_line([], {"sent": 0, "held": waiting})
        assert line.endswith(f"0 message(s) delivered, {waiting} held for the day's P2 digest")
        assert compose_digests(ctx.store.outbox_repo, T0 + 12 * H) == []
        [digest_id] = compose_digests(ctx.store.outbox_repo, T0 + 25 * H)
        assert compose_digests(ctx.store.outbox_repo, T0 + 26 * H) == []  # composed once
        report = deliver(ctx.store.outbox_repo, {"slack": notifier})
        assert len(slack.posted) == 1 and len(report.sent) == 1
        assert ctx.store.outbox_repo.held_count() == 0  # inside the digest now
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


def test_a_p2_alert_of_a_day_whose_digest_went_out_gets_a_digest_of_its_own(tmp_path):
    """A window of a day run after that day's digest was sent (a catch-up, a backfill): its
    P2 alert used to be carried inside the digest already sent (same id), so nobody was ever
    told. It goes out in a second digest of the day, which says it came late."""
    ctx = _ctx(tmp_path, threshold=0.01)
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + H))
    first_alerts = {a.fingerprint for a in ctx.store.alerts("bot")}
    with fake_slack_server() as slack:
        notifier = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
        deliver(ctx.store.outbox_repo, {"slack": notifier}, now=T0 + 25 * H)
        assert len(slack.posted) == 1  # the day's digest
        # the day's second hour, run late, opens an alert of another rule
        late_rule = monitor.rules[0].model_copy(update={"name": "errors_late", "threshold": 0.02})
        late = monitor.model_copy(update={"rules": [*monitor.rules, late_rule]})
        run_window(ctx, late, Window(T0 + H, T0 + 2 * H))
        new = [a for a in ctx.store.alerts("bot") if a.fingerprint not in first_alerts]
        assert new and {a.rule for a in new} == {"errors_late"}
        report = deliver(ctx.store.outbox_repo, {"slack": notifier}, now=T0 + 26 * H)
        again = deliver(ctx.store.outbox_repo, {"slack": notifier}, now=T0 + 27 * H)
    digests = [m for m in slack.posted if "daily digest" in m["blocks"][0]["text"]["text"]]
    assert len(digests) == 2 and again.sent == ()
    header = digests[1]["blocks"][0]["text"]["text"]
    assert (
        header
        == f"[P2] bot: daily digest for team, {T0.date()}, late additions ({len(new)} alerts)"
    )
    late_blocks = json.dumps(digests[1]["blocks"])
    assert all(a.cohort in late_blocks for a in new) and "errors_late" in late_blocks
    carried = {r.fingerprint for r in report.carried}
    assert {a.fingerprint for a in new} <= carried
    ctx.close()


@pytest.mark.prefect
def test_a_replayed_run_holds_p2_alerts_until_its_own_day_is_over(tmp_path, prefect_api):
    """`lookout run --as-of` (a replay, a late run): the day is over when the run's time says
    so, not the wall clock, which is weeks after T0 here."""
    duckdb_project(tmp_path, threshold=0.01)
    monitors = tmp_path / "cfg" / "monitors.yml"
    monitors.write_text(monitors.read_text().replace("severity: P1", "severity: P2"))
    files = ["--profiles", tmp_path / "cfg" / "profiles.yml", "--monitors", monitors]
    runner = CliRunner()
    outbox = tmp_path / "cfg" / "out" / "outbox"

    def run(as_of: datetime):  # type: ignore[no-untyped-def]
        result = runner.invoke(app, [str(a) for a in ["run", *files, "--as-of", as_of.isoformat()]])
        assert result.exit_code == 0, result.output
        return result

    run(T0 + 3 * H + timedelta(minutes=15))  # the day of T0 is not over at 03:15
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.sqlite'}")
    held = [r for r in store.outbox() if r.digest_day == T0.date().isoformat()]
    assert held and all(r.status == "pending" and r.group_id is None for r in held)
    assert outbox_files(outbox) == []  # nothing sent, no digest composed
    run(T0 + 24 * H + timedelta(minutes=15))  # the next day's first run: the day is over
    [digest] = [f for f in outbox_files(outbox) if f["kind"] == "digest"]
    assert f"daily digest for team, {T0.date()}" in json.dumps(digest["payload"])
    assert {r.status for r in store.outbox() if r.digest_day} == {"sent"}  # carried inside
    store.dispose()


def _held(outbox, *ids: str) -> None:
    from lookout.notify.message import Message
    from lookout.store.outbox import OutboxMessage

    messages = []
    for i in ids:
        m = Message(kind="opened", severity="P2", title=f"alert {i}", summary=i, owner="team")
        payload = m.to_json()
        messages.append(
            OutboxMessage(
                message_id=i,
                kind="opened",
                monitor="bot",
                payload=payload,
                channel="#team",
                fingerprint=f"fp-{i}",
                owner="team",
                severity="P2",
                digest_day=T0.date().isoformat(),
            )
        )
    outbox.enqueue(messages)


def test_two_composers_at_once_queue_one_digest_and_list_each_alert_once(tmp_path):
    """The flow's delivery and another composer (an operator's command) read the same held
    alerts; one digest is queued, and no alert is carried by a digest that does not list it."""
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    outbox = store.outbox_repo
    _held(outbox, "m1", "m2")
    stale = outbox.held_for_digest((T0 + 25 * H).date().isoformat())  # A read m1, m2
    _held(outbox, "m3")
    compose_digests(outbox, T0 + 25 * H)  # B composes m1, m2, m3

    class StaleRead:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(outbox, name)

        def held_for_digest(self, day):  # type: ignore[no-untyped-def]
            return stale

    assert compose_digests(StaleRead(), T0 + 25 * H) == []  # A finds them taken
    rows = outbox.rows()
    [digest] = [r for r in rows if r.kind == "digest"]
    assert {r.group_id for r in rows if r.kind != "digest"} == {digest.message_id}
    listed = json.dumps(digest.payload)
    assert all(f"alert {i}" in listed for i in ("m1", "m2", "m3"))
    store.dispose()
