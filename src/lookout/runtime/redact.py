"""Secrets out of error texts: errors are stored, logged and sent to owners."""

from __future__ import annotations

from lookout.config.loader import LookoutConfig
from lookout.errors import redact_urls
from lookout.urls import url_secrets

__all__ = ["redact_secrets"]


def redact_secrets(text: str, config: LookoutConfig) -> str:
    """Errors are stored and logged: any secret of the target that shows up becomes ***."""
    target = config.target
    secrets: list[str | None] = [
        *url_secrets(target.warehouse.url.get_secret_value()),
        *url_secrets(target.store.url.get_secret_value()),
        *(
            s.get_secret_value() if s else None
            for s in (target.slack.bot_token, target.slack.webhook_url, target.judge.api_key)
        ),
    ]
    if target.email is not None and target.email.password is not None:
        secrets.append(target.email.password.get_secret_value())
    for owner in config.monitors.owners.values():
        if owner.pagerduty is not None:
            secrets.append(owner.pagerduty.routing_key.get_secret_value())
    return redact_urls(text, [str(secret) for secret in secrets if secret])
