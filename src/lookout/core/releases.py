"""Which release a release replaced (pure): what `previous_release` references compare with.

A release label joins its fields with `@` (`model@prompt_version`). The most recent earlier
release is not always the one a release replaced: with model and app version as fields, the
old version of every model (and of spans without a model) appears in the same first window,
and the latest by name was taken, so a new gpt-4o version was compared with gpt-4o-mini's old
one and paged on cost until the next release (on a user's span table). The release that
shares most fields with it comes first (the same model under the previous prompt version, the
same prompt under the model it replaced), then the most recent, then the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

__all__ = ["previous_release", "shared_fields"]

SEPARATOR = "@"


def shared_fields(release: str, other: str) -> int:
    """How many fields two release labels have in common, position by position."""
    mine, theirs = release.split(SEPARATOR), other.split(SEPARATOR)
    if len(mine) != len(theirs):
        return 0
    return sum(a == b for a, b in zip(mine, theirs, strict=True))


def previous_release(release: str, first_seen: Mapping[str, datetime]) -> str | None:
    """The release `release` replaced: of those first seen before it, the one sharing most
    fields with it, then the most recent, then the last by name; None for the first one."""
    appeared = first_seen.get(release)
    if appeared is None:
        return None
    earlier = [
        (shared_fields(release, name), seen, name)
        for name, seen in first_seen.items()
        if seen < appeared
    ]
    return max(earlier)[2] if earlier else None
