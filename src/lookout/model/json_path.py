"""A value inside a JSON column, as monitors.yml names it (`metadata.account.plan`): the
column, then the keys down to the value. Parsed once here so the config, the checks and every
dialect agree on what a path is.

A key is a plain word (`tenant`, `prompt-version`), or a key in double quotes that may also
hold `.` and `/`: OpenTelemetry, OpenInference and Langfuse keep attributes as one flat
object whose keys have dots (`attributes."gen_ai.request.model"`, `resource."service.name"`),
which a plain path would read as nested objects. One quoting only (double quotes, as SQL
quotes a name and as JSONPath quotes a key); no quote, backslash, `$`, space or control
character inside it, so every engine's path syntax (`$."k"`, `/k`, `"k"`) takes a key as is
inside its quotes (`/` is escaped where a JSON pointer needs it)."""

from __future__ import annotations

import re

from lookout.model.record import IDENTIFIER_PATTERN

__all__ = [
    "JSON_KEY_PATTERN",
    "QUOTED_KEY_PATTERN",
    "check_json_path",
    "json_path_text",
    "split_json_path",
]

# letters, digits, `_` and `-` (`user_api_key_alias`, `prompt-version`); no dots, quotes or `$`;
# not digits alone, which PostgreSQL and DuckDB read as an array index and the others as a key
JSON_KEY_PATTERN = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_-]{1,128}\Z")
# a key written in double quotes: also `.` and `/` (`gen_ai.request.model`, `k8s/pod`); no `:`,
# which SQL text that GX re-parses (`sa.text`) would take for a bind parameter after a `/` or `.`
QUOTED_KEY_PATTERN = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_./-]{1,128}\Z")
# one step of a path: `.key` or `."key"` (a quote left open reads to the end, to be refused)
_STEP = re.compile(r'\.(?:"(?P<quoted>[^"]*)(?P<closed>"?)|(?P<bare>[^."]*))')
_KEYS_ARE = (
    "keys are letters, digits, '_' and '-', separated by dots, not digits alone (no array "
    "index); a key that holds dots or '/' goes in double quotes: "
    'attributes."gen_ai.request.model"'
)
_QUOTED_ARE = (
    "a key in double quotes is letters, digits, '_', '-', '.' and '/' (no ':', quote, "
    "backslash, '$' or space), not digits alone"
)


def _keys(value: str, rest: str) -> tuple[str, ...]:
    """The keys of `rest` (`.a."b.c"`), each checked: ValueError at the first wrong one."""
    keys: list[str] = []
    at = 0
    while at < len(rest):
        step = _STEP.match(rest, at)
        if step is None:  # a quote inside a plain key: `a"b`
            raise ValueError(f"{value!r}: a quote may only enclose a whole key ({_KEYS_ARE})")
        if step["bare"] is not None:
            key, pattern = step["bare"], JSON_KEY_PATTERN
        elif not step["closed"]:
            raise ValueError(f"key {step['quoted']!r} of {value!r}: its double quote is not closed")
        else:
            key, pattern = step["quoted"], QUOTED_KEY_PATTERN
        if not pattern.match(key):  # match + \Z: whole key
            rule = _KEYS_ARE if pattern is JSON_KEY_PATTERN else _QUOTED_ARE
            raise ValueError(f"key {key!r} of {value!r}: {rule}")
        keys.append(key)
        at = step.end()
    return tuple(keys)


def split_json_path(path: str) -> tuple[str, tuple[str, ...]]:
    """`metadata.account.plan` -> ("metadata", ("account", "plan")); `attributes."gen_ai.
    request.model"` -> ("attributes", ("gen_ai.request.model",)): the JSON column and the keys
    from its top object down to the value, quotes taken off (a path `check_json_path` took)."""
    column, dot, rest = path.partition(".")
    return column, _keys(path, dot + rest)


def json_path_text(column: str, keys: tuple[str, ...]) -> str:
    """The path as json_fields takes it: a key that is no plain word goes in double quotes."""
    steps = (k if JSON_KEY_PATTERN.match(k) else f'"{k}"' for k in keys)
    return ".".join((column, *steps))


def check_json_path(value: object) -> str:
    """A path as `json_fields` takes it: a column name, then at least one key, each a plain
    word or a quoted key; what is wrong said plainly (the loader adds the file, line and key)."""
    if not isinstance(value, str):
        raise ValueError("expected '<json column>.<key>[.<key>...]', e.g. metadata.tenant")
    column, dot, rest = value.partition(".")
    if "[" in column or "'" in value:
        raise ValueError(
            f"{value!r}: a key that holds dots goes in double quotes, not brackets or single "
            'quotes: attributes."gen_ai.request.model"'
        )
    if not IDENTIFIER_PATTERN.match(column):
        raise ValueError(f"{column!r} is not a plain SQL identifier (the JSON column)")
    if not dot:
        raise ValueError(
            f"{value!r} names no key: write '<json column>.<key>[.<key>...]', e.g. {column}.tenant"
        )
    _keys(value, dot + rest)
    return value
