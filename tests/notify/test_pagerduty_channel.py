"""The PagerDuty channel through httpx to a fake Events API v2 endpoint on 127.0.0.1."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr
from tests.fake_pagerduty import fake_pagerduty_server
from tests.fixtures.fake_secrets import FAKE_PD_ROUTING_KEY, OTHER_PD_ROUTING_KEY
from tests.notify.messages import FINGERPRINT, alert_ref, group, opened, resolved

from lookout.config.models import Owner, PagerDutyRoute, PagerDutyTarget
from lookout.errors import DeliveryError
from lookout.notify.channels.base import Delivery
from lookout.notify.channels.pagerduty import PagerDutyChannel
from lookout.notify.channels.slack_lookup import LookupUnavailable, SendInDoubt
from lookout.notify.message import Message


@pytest.fixture
def pd():
    with fake_pagerduty_server() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_key_in_logs(caplog):
    """Every test: the routing key is in no log record, whatever the level."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert FAKE_PD_ROUTING_KEY not in record.getMessage(), record.name


def _channel(url: str, sleeps: list[float] | None = None, **settings) -> PagerDutyChannel:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(seconds)

    target = PagerDutyTarget(events_url=url, **{"backoff_s": 0.01, **settings})
    keys = {"support-ml": SecretStr(FAKE_PD_ROUTING_KEY), "other": SecretStr(OTHER_PD_ROUTING_KEY)}
    return PagerDutyChannel(target, keys, sleep=sleep)


def _delivery(message: Message, destination: str = "support-ml") -> Delivery:
    return Delivery(message_id="m1", message=message, destination=destination)


def _error(call) -> str:
    with pytest.raises(DeliveryError) as info:
        call()
    text = str(info.value)
    assert FAKE_PD_ROUTING_KEY not in text and info.value.__cause__ is None
    return text


def test_trigger_acknowledge_resolve_reach_pagerduty_keyed_by_the_fingerprint(pd, caplog):
    channel = _channel(pd.url)
    ack = Message("ack", "P1", "ack", "", "support-ml", alert=alert_ref())
    sent = [channel.send(_delivery(m)) for m in (opened(severity="P0"), ack, resolved())]
    assert [s.ts for s in sent] == [FINGERPRINT] * 3
    assert [(e["event_action"], e["dedup_key"]) for e in pd.accepted] == [
        ("trigger", FINGERPRINT),
        ("acknowledge", FINGERPRINT),
        ("resolve", FINGERPRINT),
    ]
    assert {e["routing_key"] for e in pd.accepted} == {FAKE_PD_ROUTING_KEY}
    trigger = pd.accepted[0]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "support_bot"
    assert trigger["payload"]["component"] == "gpt-4.1-mini-2025-04-14@support-v8"
    # the owner's own key: another owner's route goes to its own service
    channel.send(_delivery(resolved(), destination="other"))
    assert pd.accepted[-1]["routing_key"] == OTHER_PD_ROUTING_KEY
    # what the autouse check reads: httpx's request lines and the channel's own, down to DEBUG
    names = {r.name for r in caplog.records}
    assert {"httpx", "httpcore.http11", "lookout.notify.channels.pagerduty"} <= names, names


def test_a_group_is_one_incident_per_alert_and_a_reminder_sends_nothing(pd):
    channel = _channel(pd.url)
    channel.send(_delivery(group()))
    assert [e["dedup_key"] for e in pd.accepted] == ["a" * 32, FINGERPRINT, "b" * 32]
    reminder = Message("reminder", "P1", "still firing", "", "support-ml", alert=alert_ref())
    assert channel.send(_delivery(reminder)).ts == FINGERPRINT
    assert len(pd.events) == 3  # no request for the reminder


def test_429_is_retried_after_the_retry_after_it_names(pd):
    pd.script = [(429, {"Retry-After": "1"})]
    sleeps: list[float] = []
    _channel(pd.url, sleeps).send(_delivery(opened()))
    assert len(pd.events) == 2 and len(pd.accepted) == 1
    assert sleeps == [1.0]  # not the 0.01 s backoff
    assert pd.times[1] - pd.times[0] >= 0.95


def test_5xx_is_retried_with_backoff_then_fails_redacted(pd):
    pd.script = [500, 502, 503, 500]
    sleeps: list[float] = []
    channel = _channel(pd.url, sleeps, max_retries=3)
    text = _error(lambda: channel.send(_delivery(opened())))
    assert len(pd.events) == 4 and pd.accepted == []
    assert sleeps == [0.01, 0.02, 0.04]  # doubled each time
    assert text == (f"message m1: PagerDuty: trigger {FINGERPRINT}: HTTP 500 after 4 attempt(s)")


def test_400_is_not_retried_and_says_why(pd):
    pd.script = [400]
    text = _error(lambda: _channel(pd.url).send(_delivery(opened())))
    assert len(pd.events) == 1
    assert "refused: HTTP 400 Event object is invalid; scripted refusal" in text


def test_a_hung_request_times_out_and_is_sent_again(pd):
    pd.hang = 1
    started = time.monotonic()
    sent = _channel(pd.url, timeout_s=0.3).send(_delivery(opened()))
    assert time.monotonic() - started < 5
    assert sent.ts == FINGERPRINT
    # the same event twice: PagerDuty deduplicates it on the dedup_key
    assert [e["dedup_key"] for e in pd.events] == [FINGERPRINT, FINGERPRINT]


def test_a_long_retry_after_leaves_the_message_for_the_next_delivery(pd):
    pd.script = [(429, {"Retry-After": "120"})]
    started = time.monotonic()
    text = _error(lambda: _channel(pd.url).send(_delivery(opened())))
    assert time.monotonic() - started < 5 and len(pd.events) == 1
    assert "Retry-After 120 s: left for the next delivery" in text


def test_an_unreachable_endpoint_fails_after_its_retries(pd):
    url = pd.url.replace(pd.url.split(":")[2].split("/")[0], "9")  # port 9: nothing listens
    text = _error(lambda: _channel(url, max_retries=1).send(_delivery(opened())))
    assert "no answer (ConnectError) after 2 attempt(s)" in text


def test_what_pagerduty_cannot_take_is_a_delivery_error_without_a_request(pd):
    channel = _channel(pd.url)
    assert "owner 'nobody' has no PagerDuty route" in _error(
        lambda: channel.send(_delivery(opened(), destination="nobody"))
    )
    no_alert = Message("open", "P1", "t", "s", "support-ml")
    assert "not a PagerDuty event: a 'open' message carries no alert" in _error(
        lambda: channel.send(_delivery(no_alert))
    )
    assert pd.events == []


def test_find_is_unavailable_and_nothing_is_in_doubt(pd):
    channel = _channel(pd.url)
    with pytest.raises(LookupUnavailable):
        channel.find(_delivery(opened()), since=None)  # type: ignore[arg-type]
    assert (channel.supports_reply, channel.supports_edit) == (False, False)
    pd.hang = 5
    with pytest.raises(DeliveryError) as info:
        _channel(pd.url, timeout_s=0.2, max_retries=1).send(_delivery(opened()))
    assert not isinstance(info.value, SendInDoubt)  # sending again is harmless


def test_the_channel_from_config_uses_each_owners_routing_key(pd):
    owners = {
        "support-ml": Owner(pagerduty=PagerDutyRoute(routing_key=FAKE_PD_ROUTING_KEY)),
        "slack-only": Owner(channel="#x"),
    }
    channel = PagerDutyChannel.from_config(PagerDutyTarget(events_url=pd.url), owners)
    channel.send(_delivery(opened()))
    assert pd.accepted[0]["routing_key"] == FAKE_PD_ROUTING_KEY
    assert "has no PagerDuty route" in _error(
        lambda: channel.send(_delivery(opened(), destination="slack-only"))
    )
    # no destination (the queue's PagerDuty route has no target): the message's owner
    channel.send(_delivery(resolved(), destination=""))
    assert pd.accepted[-1]["routing_key"] == FAKE_PD_ROUTING_KEY
    assert pd.accepted[-1]["event_action"] == "resolve"
    # a channel built without the owners' keys fails each send clearly; nothing is sent
    bare = PagerDutyChannel(PagerDutyTarget(events_url=pd.url))
    assert "owner 'support-ml' has no PagerDuty route" in _error(
        lambda: bare.send(_delivery(opened(), destination=""))
    )
    assert len(pd.events) == 2
