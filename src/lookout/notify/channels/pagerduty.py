"""PagerDuty Events API v2: trigger, acknowledge and resolve incidents keyed by the alert.

The routing key is the owner's: looked up by the destination when it names the owner, else
by the message's owner, in the owners' config at send time (`from_config`), so it is never
stored in the outbox, and never put in a log line or an error. One
message may be several events (a group: one per alert); each is POSTed with httpx, and 429,
5xx, timeouts and dropped connections are retried with exponential backoff (tenacity), a
Retry-After honoured, up to `max_retries`. Sending an event again is harmless (PagerDuty
deduplicates on `dedup_key`), so a message whose answer was lost is simply sent again: `find`
is unavailable and no failure is ever in doubt. 202 is success; 400 (a refused event) and other
4xx are not retried. A wait longer than `MAX_WAIT_S` is not waited for: the message stays
pending for the next delivery rather than hold up the other alerts' messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from lookout.config.models import Owner, PagerDutyTarget
from lookout.errors import DeliveryError
from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.slack_lookup import LookupUnavailable
from lookout.notify.formats.pagerduty import to_events
from lookout.notify.formats.values import clip, one_line

__all__ = ["MAX_WAIT_S", "PagerDutyChannel"]

log = logging.getLogger(__name__)

MAX_WAIT_S = 30.0  # longest wait between two attempts (a longer Retry-After: next delivery)


class _Retry(Exception):
    """An attempt worth repeating: 429, 5xx, or no answer."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Refused(Exception):
    """A wait PagerDuty asks for that is longer than this delivery waits."""


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PagerDutyChannel:
    """Events to one Events API endpoint (`profiles.yml` target `pagerduty:`) with the
    owners' routing keys (`monitors.yml` owners' `pagerduty.routing_key`)."""

    name = "pagerduty"
    supports_reply = False  # no threads: events of one alert share its dedup_key instead
    supports_edit = False

    def __init__(
        self,
        target: PagerDutyTarget,
        routing_keys: Mapping[str, SecretStr] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._target = target
        self._keys = dict(routing_keys or {})  # owner name -> routing key
        self._sleep = sleep

    @classmethod
    def from_config(cls, target: PagerDutyTarget, owners: Mapping[str, Owner]) -> PagerDutyChannel:
        """The channel of every owner with a PagerDuty route."""
        keys = {name: o.pagerduty.routing_key for name, o in owners.items() if o.pagerduty}
        return cls(target, keys)

    def send(self, delivery: Delivery) -> Sent:
        where = f"message {delivery.message_id}: PagerDuty"
        owner = delivery.destination or delivery.message.owner
        key = self._keys.get(owner)
        if key is None:
            raise DeliveryError(f"{where}: owner {owner!r} has no PagerDuty route")
        try:
            events = to_events(delivery.message)
        except ValueError as exc:
            raise DeliveryError(f"{where}: not a PagerDuty event: {exc}") from None
        if events:
            with httpx.Client(timeout=self._target.timeout_s) as client:
                for event in events:
                    self._post(client, where, {**event, "routing_key": key.get_secret_value()})
        first = events[0]["dedup_key"] if events else None
        own = delivery.message.alert.fingerprint if delivery.message.alert else None
        return Sent(channel=None, ts=own or first)

    def edit(self, delivery: Delivery) -> None:
        """An incident's details cannot be edited; its later events say what changed."""

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        raise LookupUnavailable(
            "PagerDuty events cannot be looked up; sending again is harmless (dedup_key)"
        )

    def _post(self, client: httpx.Client, where: str, event: dict[str, Any]) -> None:
        """One event, retried; DeliveryError when it is refused or retries run out."""
        attempts = self._target.max_retries + 1
        label = f"{where}: {event['event_action']} {event['dedup_key']}"
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            retrying(self._attempt, client, event)
        except _Retry as exc:
            raise DeliveryError(f"{label}: {exc.reason} after {attempts} attempt(s)") from None
        except _Refused as exc:
            raise DeliveryError(f"{label}: {exc}") from None
        except DeliveryError as exc:
            raise DeliveryError(f"{label}: {exc}") from None
        log.info("%s: accepted", label)

    def _attempt(self, client: httpx.Client, event: dict[str, Any]) -> None:
        try:
            response = client.post(self._target.events_url, json=event)
        except httpx.TimeoutException:
            raise _Retry("timed out") from None
        except httpx.TransportError as exc:
            raise _Retry(f"no answer ({type(exc).__name__})") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("retry-after")))
        raise DeliveryError(f"refused: HTTP {status} {_refusal(response, event)}")

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when given, else backoff_s doubled per attempt; at most MAX_WAIT_S."""
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        asked = error.retry_after if isinstance(error, _Retry) else None
        if asked is not None:
            if asked > MAX_WAIT_S:
                raise _Refused(
                    f"HTTP 429 with Retry-After {asked:.0f} s: left for the next delivery"
                )
            return asked
        return min(MAX_WAIT_S, self._target.backoff_s * 2 ** (state.attempt_number - 1))


def _refusal(response: httpx.Response, event: dict[str, Any]) -> str:
    """PagerDuty's reason (`message` and `errors`), without the routing key, in a line."""
    try:
        body = response.json()
        parts = [str(body.get("message", ""))] + [str(e) for e in body.get("errors", [])]
        text = "; ".join(p for p in parts if p)
    except Exception:
        text = response.text
    return clip(one_line(text.replace(event["routing_key"], "***")), 300)
