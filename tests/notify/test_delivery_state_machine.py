"""Delivery cannot deadlock: random alert histories interleaved with deliveries that fail.

Alerts go through the real lifecycle (open, resolve, reopen, escalate, remind) and the real
queue (`lookout.notify.queue.outbox_messages`: grouping, P2 digests, replies, edits) into a
real SQLite store, one committed window at a time; deliveries run in between through the real
engine (`lookout.notify.delivery.deliver`) against a channel that fails as Slack does: a 429 or
a 5xx before accepting (not sent), a timeout after accepting (sent but in doubt: found again
by the lookup), or a day of outage. Once the channel recovers and the days are over, every
message must have gone out exactly once, each alert's messages in their queued order, every
reply in its episode's thread, and nothing pending.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookout.alerts.lifecycle import apply_evaluations
from lookout.alerts.rules import evaluate_rules
from lookout.config.loader import LookoutConfig
from lookout.config.models import AlertRule, MonitorsFile, Target
from lookout.errors import DeliveryError
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import AlertState, Transition
from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.slack_lookup import SendInDoubt
from lookout.notify.delivery import deliver
from lookout.notify.queue import outbox_messages
from lookout.store import ResultsStore
from lookout.store.results import WindowCommit
from lookout.windows import Window

T0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class FlakyChannel:
    """A Slack-like channel: posts get a ts, replies thread under a ts, edits replace; it can
    refuse (nothing recorded), accept then time out (recorded, in doubt), or be down."""

    name: str = "slack"
    supports_reply: bool = True
    supports_edit: bool = True
    mode: str = "ok"  # ok | refuse | doubt | down
    posts: list[tuple[str, str | None]] = field(default_factory=list)  # (id, thread ts)
    edits: list[tuple[str, str]] = field(default_factory=list)  # (id, edited ts)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def send(self, delivery: Delivery) -> Sent:
        if self.mode in ("refuse", "down"):
            raise DeliveryError(f"message {delivery.message_id}: Slack API error ratelimited")
        ts = f"{next(self._ts)}.0"
        thread = delivery.reply_to.ts if delivery.reply_to else None
        self.posts.append((delivery.message_id, thread))
        self._where = getattr(self, "_where", {})
        self._where[delivery.message_id] = ts
        if self.mode == "doubt":
            raise SendInDoubt(f"message {delivery.message_id}: TimeoutError")
        return Sent("C1", ts)

    def edit(self, delivery: Delivery) -> None:
        if self.mode in ("refuse", "down"):
            raise DeliveryError(f"message {delivery.message_id}: Slack API error")
        assert delivery.edits is not None and delivery.edits.ts
        self.edits.append((delivery.message_id, delivery.edits.ts))

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        if self.mode == "down":
            raise DeliveryError("Slack is down: cannot look")
        ts = getattr(self, "_where", {}).get(delivery.message_id)
        return None if ts is None else Sent("C1", ts)


OWNERS = {"team": {"slack_users": ["U0TEAM01"], "channel": "#team"}}


def _context(tmp_path, digest: bool, group: bool):
    """A minimal context: config + store (the queue reads owners, policy and the store)."""
    monitors = MonitorsFile.model_validate(
        {
            "owners": OWNERS,
            "alerting": {"group": group, "p2_digest": digest, "inhibit": False},
            "monitors": [
                {
                    "name": "bot",
                    "source": {"table": "t", "columns": {"record_id": "id", "ts": "ts"}},
                }
            ],
        }
    )
    target = Target.model_validate(
        {"warehouse": {"url": "duckdb:///:memory:"}, "store": {"url": "sqlite://"}}
    )

    @dataclass
    class Ctx:
        config: LookoutConfig
        store: ResultsStore

    store = ResultsStore(f"sqlite:///{tmp_path / f'r{uuid.uuid4().hex[:6]}.sqlite'}")
    return Ctx(LookoutConfig(target, monitors), store)


def _rule(name: str, severity: str) -> AlertRule:
    return AlertRule(
        name=name,
        metric="error_rate",
        op=">",
        threshold=0.1,
        min_n=1,
        severity=severity,
        owner="team",
        escalate=[{"severity": "P0", "threshold": 0.5}] if severity != "P0" else [],
        remind_after="2h",
        significance=False,
        keep_firing_for="0s",  # every breach and ok moves the alert: the flapping this tests
        **{"for": 1},
    )


RULES = {"a": _rule("a", "P1"), "b": _rule("b", "P2"), "c": _rule("c", "P1")}
# what an alert's value is in a window: ok, breach (P1/P2), escalated (P0), or no data
LEVELS = {"ok": 0.01, "breach": 0.2, "high": 0.8}

step = st.one_of(
    st.tuples(
        st.just("window"),
        st.fixed_dictionaries(
            {k: st.sampled_from(["ok", "breach", "high", "none"]) for k in RULES}
        ),
    ),
    st.tuples(st.just("deliver"), st.sampled_from(["ok", "refuse", "doubt", "down"])),
)


def _commit_window(ctx, index: int, levels: dict[str, str], alerts: dict) -> None:
    window = Window(T0 + index * H, T0 + (index + 1) * H)
    evaluations = []
    for key, rule in RULES.items():
        if levels[key] == "none":
            continue
        value = MetricValue("rel", "*", "error_rate", LEVELS[levels[key]], 100)
        evaluations += evaluate_rules([rule], [value])
    transitions: list[Transition] = apply_evaluations(
        "bot", alerts, evaluations, window, window.end
    )
    monitor = ctx.config.monitors.monitors[0]
    queued = outbox_messages(ctx, monitor, transitions, window, None)  # type: ignore[arg-type]
    ctx.store.commit_window(
        WindowCommit(
            run_id=uuid.uuid4().hex,
            monitor="bot",
            window=window,
            started_at=window.end,
            finished_at=T0 + index * H + timedelta(minutes=59),
            rows_read=100,
            metric_path="pandas",
            metrics=[],
            initial_frontier=T0,
            transitions=transitions,
            messages=queued.messages,
            supersede=queued.supersede,
        )
    )
    for t in transitions:
        alerts[t.alert.fingerprint] = t.alert


def _check(ctx, channel: FlakyChannel) -> None:
    rows = {r.message_id: r for r in ctx.store.outbox()}
    assert [r for r in rows.values() if r.status == "pending"] == []
    posted = [message_id for message_id, _ in channel.posts]
    assert len(posted) == len(set(posted)), "a message was posted twice"
    sent = {r.message_id for r in rows.values() if r.status == "sent"}
    carried = {m for m in sent if rows[m].group_id is not None}
    edits = {m for m, _ in channel.edits}
    assert sent - carried == set(posted) | edits  # every sent message went out, once
    ts_of = {m: r.remote_id for m, r in rows.items()}
    for message_id, thread in channel.posts:
        row = rows[message_id]
        if row.reply_to is not None and rows[row.reply_to].status == "sent":
            assert thread == ts_of[row.reply_to], "a reply outside its episode's thread"
    # per alert, the channel saw its messages in the order they were queued
    order = {m: i for i, m in enumerate(posted)}
    for fingerprint in {r.fingerprint for r in rows.values() if r.fingerprint}:
        own = [
            r
            for r in sorted(rows.values(), key=lambda r: (r.created_at, r.seq))
            if r.fingerprint == fingerprint and r.message_id in order
        ]
        assert [order[r.message_id] for r in own] == sorted(order[r.message_id] for r in own)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=1, max_size=14),
    digest=st.booleans(),
    group=st.booleans(),
)
def test_random_histories_and_failures_end_with_everything_delivered_once_in_order(
    tmp_path, steps, digest, group
):
    ctx = _context(tmp_path, digest, group)
    channel = FlakyChannel()
    alerts: dict[str, AlertState] = {}
    index = 0
    try:
        for kind, arg in steps:
            if kind == "window":
                _commit_window(ctx, index, arg, alerts)
                index += 1
            else:
                channel.mode = arg
                deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + index * H)
        channel.mode = "ok"  # the channel recovers; the days end
        for _ in range(3):
            deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + timedelta(days=3))
        _check(ctx, channel)
    finally:
        ctx.store.dispose()


def test_a_resolve_and_reopen_before_any_delivery_all_go_out_in_order(tmp_path):
    """The stuck case: the resolve's reply must not wait for the newer reopen's thread (which
    waits behind the resolve in the alert's queue)."""
    ctx = _context(tmp_path, digest=False, group=False)
    channel = FlakyChannel()
    alerts: dict[str, AlertState] = {}
    only_a = {"b": "none", "c": "none"}
    for index, level in enumerate(["breach", "ok", "breach", "ok", "breach"]):
        _commit_window(ctx, index, {"a": level, **only_a}, alerts)  # a catch-up: no delivery
    report = deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + 6 * H)
    kinds = [r.kind for r in report.sent]
    assert kinds == ["open", "resolve", "update", "reopen", "resolve", "update", "reopen"]
    assert report.failed == () and ctx.store.outbox(status="pending") == []
    # each resolve threads under its own episode's opening, each update edits it
    rows = {r.message_id: r for r in ctx.store.outbox()}
    for message_id, thread in channel.posts:
        if rows[message_id].kind == "resolve":
            assert thread == rows[rows[message_id].reply_to].remote_id
    _check(ctx, channel)
    ctx.store.dispose()


@pytest.mark.parametrize("group", [False, True])
def test_a_day_of_outage_with_resolves_and_reopens_ends_delivered_once_in_order(tmp_path, group):
    ctx = _context(tmp_path, digest=True, group=group)
    channel = FlakyChannel(mode="down")
    alerts: dict[str, AlertState] = {}
    pattern = ["breach", "breach", "ok", "high", "ok", "breach", "ok"]
    for index in range(24):  # a day of hourly windows, a delivery after each, Slack down
        level = pattern[index % len(pattern)]
        _commit_window(ctx, index, {"a": level, "b": level, "c": "breach"}, alerts)
        report = deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + (index + 1) * H)
        assert report.sent == () or all(r.group_id for r in report.sent)
    assert channel.posts == []
    channel.mode = "ok"
    deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + 25 * H)
    deliver(ctx.store.outbox_repo, {"slack": channel}, now=T0 + 26 * H)
    _check(ctx, channel)
    assert len(channel.posts) > 10
    ctx.store.dispose()
