"""Alerts as the CLI (and anything else) acts on them: list, silence, acknowledge, unsilence,
and how an alert names its owner and runbook.

Plain functions over an open results store; the CLI parses and prints around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lookout.config.loader import LookoutConfig
    from lookout.model.alerts import AlertState, Silence
    from lookout.store.results import ResultsStore

__all__ = [
    "Acknowledged",
    "acknowledge",
    "active_silences",
    "end_silence",
    "list_alerts",
    "owner_mentions",
    "runbook_url",
    "silence",
    "unknown_names",
]


def list_alerts(
    store: ResultsStore, state: Literal["firing", "resolved", "all"]
) -> list[AlertState]:
    """The stored alerts in `state` (`all`: every state, pending and inactive ones too)."""
    return store.alerts(state=None if state == "all" else state)


def unknown_names(config: LookoutConfig, matchers: Mapping[str, str]) -> list[str]:
    """The `rule`, `monitor`, `owner` and `severity` matchers no configured name matches (a
    typo would silence nothing, quietly); one line each, naming what exists."""
    import fnmatch
    from typing import get_args

    from lookout.alerts.health import builtin_rules
    from lookout.config.models import Severity

    monitors = config.monitors.monitors
    rules = [r for m in monitors for r in (*m.rules, *builtin_rules(m))]
    known = {
        "monitor": {m.name for m in monitors},
        "rule": {r.name for r in rules},
        "owner": {r.owner for r in rules} | set(config.monitors.owners),
        "severity": set(get_args(Severity)),
    }
    out = []
    for label, pattern in matchers.items():
        names = known.get(label)
        if names and not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            listed = ", ".join(sorted(names)[:20])
            out.append(f"no {label} matches {pattern!r} (known: {listed})")
    return out


def silence(
    store: ResultsStore,
    matchers: Mapping[str, str],
    now: datetime,
    length: timedelta,
    by: str = "",
    comment: str = "",
) -> Silence:
    """Hold back the messages of alerts matching `matchers` from `now` for `length`."""
    from lookout.model.alerts import Silence

    made = Silence(uuid.uuid4().hex[:12], dict(matchers), now, now + length, by, comment)
    store.add_silence(made)
    return made


@dataclass(frozen=True)
class Acknowledged:
    alert: AlertState
    silence: Silence
    delivery_errors: tuple[str, ...] = ()  # PagerDuty acknowledgements that failed (retried)


def acknowledge(
    config: LookoutConfig,
    store: ResultsStore,
    alert_id: str,
    now: datetime,
    length: timedelta,
    by: str = "",
) -> Acknowledged:
    """Silence the one firing alert whose fingerprint starts with `alert_id` and tell its
    PagerDuty routes at once (a failure stays in the outbox for the next delivery).
    ValueError when not exactly one firing alert matches."""
    from pathlib import Path

    from lookout.notify.delivery import deliver, make_channels
    from lookout.notify.queue import ack_messages

    found = [a for a in store.alerts(state="firing") if a.fingerprint.startswith(alert_id)]
    if len(found) != 1:
        raise ValueError(f"{len(found)} firing alerts match {alert_id!r}; give a longer id")
    alert = found[0]
    made = silence(store, {"fingerprint": alert.fingerprint}, now, length, by, "acknowledged")
    errors: tuple[str, ...] = ()
    acks = ack_messages(config, alert, now)
    if acks:
        store.enqueue(acks)
        channels = make_channels(config.target, Path(config.target.out_dir), config.monitors.owners)
        report = deliver(store.outbox_repo, channels, types={"pagerduty"}, compose=False)
        errors = tuple(error for _, error in report.failed)
    return Acknowledged(alert, made, errors)


def active_silences(store: ResultsStore, now: datetime) -> list[Silence]:
    return store.silences(active_at=now)


def end_silence(store: ResultsStore, silence_id: str, now: datetime) -> bool:
    """End a silence now; False when there is no such silence."""
    return store.expire_silence(silence_id, now)


def owner_mentions(config: LookoutConfig, owner_name: str) -> str:
    """`team (@user, @group) in #channel`: who an alert pages, as configured."""
    owner = config.monitors.owners.get(owner_name)
    if owner is None:
        return owner_name
    parts = [f"@{u}" for u in owner.slack_users]
    if owner.slack_group:
        parts.append(f"@{owner.slack_group}")
    where = f" in {owner.channel}" if owner.channel else ""
    who = f" ({', '.join(parts)})" if parts else " (nobody mentioned)"
    return f"{owner_name}{who}{where}"


def runbook_url(config: LookoutConfig, alert: AlertState) -> str:
    """The alert's runbook, or its owner's runbook base plus the rule name, or `-`."""
    if alert.runbook:
        return alert.runbook
    owner = config.monitors.owners.get(alert.owner)
    if owner and owner.runbook_base:
        return owner.runbook_base.rstrip("/") + "/" + alert.rule
    return "-"
