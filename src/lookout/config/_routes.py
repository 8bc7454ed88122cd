"""Checks of the owners' alert routes that one pydantic model cannot make.

- Secrets of the routes (a PagerDuty routing key, the SMTP password) must come from the
  environment: the raw file is looked at before rendering, and a literal value (or an
  `env_var` default holding one) is an error at its `file:line:col`, without the value.
- A route needs its channel's settings in the chosen profiles.yml target (an email route needs
  `email:`, the SMTP relay); found at config load, not at the first alert.
"""

from __future__ import annotations

from typing import Any

from lookout.config._templating import env_var_only
from lookout.config._yaml import KeyPath, LocatedYaml
from lookout.config.models import MonitorsFile, Owner, Target
from lookout.errors import ConfigIssue

__all__ = [
    "MONITORS_SECRETS",
    "PROFILES_SECRETS",
    "literal_secret_issues",
    "owner_key_message",
    "route_target_issues",
]

ANY = "*"
MONITORS_SECRETS: tuple[KeyPath, ...] = (("owners", ANY, "pagerduty", "routing_key"),)
PROFILES_SECRETS: tuple[KeyPath, ...] = (("outputs", ANY, "email", "password"),)

LITERAL_SECRET = (
    "a secret must come from the environment: write \"{{ env_var('NAME') }}\" here "
    "(a value written in the file ends up in git, and in every copy of it)"
)


def _at(data: Any, pattern: KeyPath, path: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    """Every (key path, value) of `data` matching `pattern` (`*`: any mapping key)."""
    if not pattern:
        return [(path, data)]
    if not isinstance(data, dict):
        return []
    head, rest = pattern[0], pattern[1:]
    keys = list(data) if head == ANY else [head] if head in data else []
    found: list[tuple[KeyPath, Any]] = []
    for key in keys:
        found += _at(data[key], rest, (*path, key))
    return found


def literal_secret_issues(doc: LocatedYaml, patterns: tuple[KeyPath, ...]) -> list[ConfigIssue]:
    """Secrets written into the file instead of read with `{{ env_var('NAME') }}`."""
    issues = []
    for pattern in patterns:
        for path, value in _at(doc.data, pattern):
            if value is None or env_var_only(value) is not False:
                continue  # unset, an env var, or a broken template (rendering reports it)
            issues.append(doc.issue(path, LITERAL_SECRET))
    return issues


def route_target_issues(
    doc: LocatedYaml, monitors: MonitorsFile, target: Target, target_name: str
) -> list[ConfigIssue]:
    """Routes whose channel has no settings in the chosen target."""
    issues = []
    for name, owner in monitors.owners.items():
        if owner.email is not None and target.email is None:
            issues.append(
                doc.issue(
                    ("owners", name, "email"),
                    f"an email route needs `email:` (the SMTP relay: host, sender...) in "
                    f"profiles.yml target {target_name!r}",
                )
            )
    return issues


def owner_key_message(key: object) -> str:
    """An unknown key under an owner (`teams:`): say which routes and keys exist."""
    known = ", ".join(Owner.model_fields)
    return f"unknown route or key {key!r}; an owner has: {known}"
