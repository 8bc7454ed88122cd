"""monitors.yml: who is told and where (owners and their email and PagerDuty routes), and
the notification policy every monitor of the file shares."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from lookout.config.models.base import EmailAddress, Model, PositiveDuration

__all__ = ["AlertingConfig", "EmailRoute", "Owner", "PagerDutyRoute", "Severity"]


Severity = Literal["P0", "P1", "P2"]


class EmailRoute(Model):
    """An owner's mailbox(es): alerts of `min_severity` or worse, one email per message."""

    to: list[EmailAddress] = Field(min_length=1, description="the recipients")
    min_severity: Severity = Field(default="P1", description="this severity or worse is mailed")


_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


class PagerDutyRoute(Model):
    """An owner's PagerDuty service (an Events API v2 integration): alerts of `min_severity`
    or worse open, acknowledge and resolve an incident there."""

    routing_key: SecretStr = Field(description="from {{ env_var(...) }} only")
    min_severity: Severity = Field(
        default="P0", description="this severity or worse opens an incident"
    )

    @field_validator("routing_key")
    @classmethod
    def _integration_key(cls, value: SecretStr) -> SecretStr:
        if not _ROUTING_KEY.fullmatch(value.get_secret_value()):  # the key is never echoed
            raise ValueError("not a PagerDuty integration key (32 letters and digits)")
        return value


class Owner(Model):
    """Who gets told, and where. Slack (the channel, user ids and a user group to mention) gets
    every severity; `email` and `pagerduty` are further routes from a minimum severity."""

    slack_users: list[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]] = Field(
        default=[], description="Slack user ids mentioned in its alerts (as <@U...>)"
    )
    slack_group: Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")] | None = Field(
        default=None, description="a Slack user group id mentioned (as <!subteam^S...>)"
    )
    channel: str | None = Field(
        default=None,
        description="where its alerts are posted; null: the profile's slack.default_channel",
    )
    runbook_base: str | None = Field(
        default=None,
        description="a rule without its own runbook links <runbook_base>/<rule name>",
    )
    email: EmailRoute | None = Field(
        default=None,
        description="also mail alerts of min_severity or worse (needs `email:` in the profile)",
    )
    pagerduty: PagerDutyRoute | None = Field(
        default=None,
        description="also open PagerDuty incidents for alerts of min_severity or worse",
    )


class AlertingConfig(Model):
    """Notification policy shared by every monitor of the file."""

    group: bool = Field(
        default=True, description="alerts one window opens for one owner: one message"
    )
    fold: bool = Field(
        default=True,
        description="a release-wide breach that most of a cohort column shares is one alert on "
        "the release naming the cohorts, not one per cohort (a cohort far past its release's "
        "change, more severe, or already firing still alerts on its own)",
    )
    split_budget: int | None = Field(
        default=None,
        ge=1,
        description="off by default; N: cohorts of one column a rule tests at the full 2.5% "
        "level in a window, a wider split sharing the budget (each cohort without an open alert "
        "at 2.5% x N / cohorts) so many tenants do not page by chance more often than N cohorts "
        "(8 halved chance pages on 30 tenants and delayed a tenant's incident 0-2 windows)",
    )
    p2_digest: bool = Field(
        default=True, description="P2 alerts open into one daily digest per owner (UTC day)"
    )
    inhibit: bool = Field(
        default=True, description="a firing P0 mutes P1/P2 alerts equal on `inhibit_equal`"
    )
    inhibit_equal: list[Literal["monitor", "release", "cohort", "owner", "metric"]] = Field(
        default=["monitor", "release"], description="labels the P0 and the muted alert share"
    )
    stale_after: PositiveDuration = Field(
        default=timedelta(hours=24),
        description="a firing alert whose release x cohort had no records this long resolves "
        "as `stale`; a pending alert with no breach this long is cleared; a release unseen "
        "this long shows as retired",
    )
    notify_within: int = Field(
        default=2,
        ge=1,
        description="windows before now that page: alerts that open and resolve entirely in "
        "older windows (a catch-up) are stored in the history, not paged",
    )
