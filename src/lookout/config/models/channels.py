"""profiles.yml: how owners are told: Slack, the SMTP relay and PagerDuty's endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from lookout.config.models.base import EmailAddress, Model

__all__ = ["EmailTarget", "PagerDutyTarget", "SlackTarget"]


class SlackTarget(Model):
    """Bot token (chat.postMessage, threads) or incoming webhook; neither means file outbox."""

    bot_token: SecretStr | None = Field(
        default=None,
        description="a bot token: chat.postMessage with threads, edits and exactly-once "
        "lookups; empty: no Slack",
    )
    webhook_url: SecretStr | None = Field(
        default=None,
        description="an incoming webhook instead: one channel, no threads, no edits, at least once",
    )
    default_channel: str | None = Field(
        default=None, description="where alerts go when their owner names no channel"
    )
    base_url: str | None = Field(
        default=None,
        description="the Slack Web API's base URL, for Slack-compatible proxies and tests; "
        "null: the real API",
    )

    @field_validator("bot_token", "webhook_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None or self.webhook_url is not None


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL")
    return value


class EmailTarget(Model):
    """The SMTP relay alerts are mailed through (STARTTLS on the submission port by default).

    A password is only ever sent after STARTTLS; `ca_file` trusts a private relay's CA.
    """

    host: str = Field(min_length=1, description="the SMTP relay's host name")
    port: int = Field(default=587, ge=1, le=65535, description="587: submission with STARTTLS")
    starttls: bool = Field(default=True, description="upgrade to TLS before anything is sent")
    username: str | None = Field(default=None, description="with password, or neither")
    password: SecretStr | None = Field(
        default=None, description="from {{ env_var(...) }} only; never written in the file"
    )
    sender: EmailAddress = Field(description="the From address")
    timeout_s: float = Field(default=30.0, gt=0, description="per connection and SMTP reply")
    ca_file: str | None = Field(
        default=None, description="PEM file of CAs to trust (private relays); default: system"
    )

    @field_validator("username", "password", "ca_file", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (both, or neither)")
        if self.password is not None and not self.starttls:
            raise ValueError("a password is only sent over TLS: set starttls: true")
        return self


class PagerDutyTarget(Model):
    """The PagerDuty Events API v2 endpoint (the routing keys are the owners')."""

    events_url: Annotated[str, AfterValidator(_http_url)] = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="where events are posted (another URL for proxies and tests)",
    )
    timeout_s: float = Field(default=10.0, gt=0, description="per HTTP attempt")
    max_retries: int = Field(default=3, ge=0, le=10, description="on 429, 5xx and timeouts")
    backoff_s: float = Field(
        default=1.0, gt=0, description="first wait between attempts, doubled after each"
    )
