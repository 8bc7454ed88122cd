"""A value inside a JSON column, as monitors.yml names it (`metadata.account.plan`): the
column, then the keys down to the value. Parsed once here so the config, the checks and every
dialect agree on what a path is; keys are plain words, so no engine's path syntax (`$."k"`,
`/k`, `"k"`) needs escaping beyond its quotes."""

from __future__ import annotations

import re

from lookout.model.record import IDENTIFIER_PATTERN

__all__ = ["JSON_KEY_PATTERN", "check_json_path", "split_json_path"]

# letters, digits, `_` and `-` (`user_api_key_alias`, `prompt-version`); no dots, quotes or `$`;
# not digits alone, which PostgreSQL and DuckDB read as an array index and the others as a key
JSON_KEY_PATTERN = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_-]{1,128}\Z")


def split_json_path(path: str) -> tuple[str, tuple[str, ...]]:
    """`metadata.account.plan` -> ("metadata", ("account", "plan")): the JSON column and the
    keys from its top object down to the value."""
    column, *keys = path.split(".")
    return column, tuple(keys)


def check_json_path(value: object) -> str:
    """A path as `json_fields` takes it: a column name, then at least one key, each a plain
    word; what is wrong said plainly (the loader adds the file, line and key)."""
    if not isinstance(value, str):
        raise ValueError("expected '<json column>.<key>[.<key>...]', e.g. metadata.tenant")
    column, keys = split_json_path(value)
    if not IDENTIFIER_PATTERN.match(column):
        raise ValueError(f"{column!r} is not a plain SQL identifier (the JSON column)")
    if not keys:
        raise ValueError(
            f"{value!r} names no key: write '<json column>.<key>[.<key>...]', e.g. {column}.tenant"
        )
    bad = [k for k in keys if not JSON_KEY_PATTERN.match(k)]  # match + \Z: whole key
    if bad:
        raise ValueError(
            f"key {bad[0]!r} of {value!r}: keys are letters, digits, '_' and '-' "
            "(one or more, separated by dots), not digits alone (no array index)"
        )
    return value
