"""A value inside a JSON column, as monitors.yml names it (`metadata.account.plan`): the
column, then the keys down to the value. Parsed once here so the config, the checks and every
dialect agree on what a path is.

A key is a plain word (`tenant`, `prompt-version`), or a key in double quotes that may also
hold `.`, `/` and `:`: OpenTelemetry, OpenInference and Langfuse keep attributes as one flat
object whose keys have dots (`attributes."gen_ai.request.model"`, `resource."service.name"`),
which a plain path would read as nested objects. One quoting only (double quotes, as SQL
quotes a name and as JSONPath quotes a key); no quote, backslash, `$`, space or control
character inside it, so every engine's path syntax (`$."k"`, `/k`, `"k"`) takes a key as is
inside its quotes (`/` is escaped where a JSON pointer needs it).

A step may also be an array index, `[0]` for the first element: a raw OpenAI response logged as
JSON keeps the answer at `response.choices[0].message.content`, a chat log its first message
at `messages[0].content`. An index is a whole number from 0, or from -1 counted from the end:
a chat request's last message is `messages[-1].content`, whatever the conversation's length
(every engine but Snowflake, whose paths have none)."""

from __future__ import annotations

import re

from lookout.model.record import IDENTIFIER_PATTERN

__all__ = [
    "JSON_KEY_PATTERN",
    "QUOTED_KEY_PATTERN",
    "JsonStep",
    "check_json_path",
    "json_path_text",
    "split_json_path",
    "sql_json_path",
]

# letters, digits, `_` and `-` (`user_api_key_alias`, `prompt-version`); no dots, quotes or `$`;
# not digits alone (nor `-1`), which PostgreSQL and DuckDB read as an array index and the others
# as a key
JSON_KEY_PATTERN = re.compile(r"(?!-?[0-9]+\Z)[A-Za-z0-9_-]{1,128}\Z")
# a key written in double quotes: also `.`, `/` and `:` (`gen_ai.request.model`, `k8s/pod`,
# `aws:region`); a validation query that then holds `/:x` (a bind parameter to SQLAlchemy's
# `text()`, which GX reads it with) is validated on the DataFrame (`runs_as_written`)
QUOTED_KEY_PATTERN = re.compile(r"(?!-?[0-9]+\Z)[A-Za-z0-9_./:-]{1,128}\Z")
# one step of a path: `.key`, `."key"` (a quote left open reads to the end, to be refused) or
# `[index]` (what is between the brackets is checked after)
_STEP = re.compile(
    r'\.(?:"(?P<quoted>[^"]*)(?P<closed>"?)|(?P<bare>[^."\[\]]*))|\[(?P<index>[^\]]*)\]'
)
_INDEX = re.compile(r"(?:[0-9]{1,6}|-[1-9][0-9]{0,5})\Z")
# the JSON column: the name before the first step
_COLUMN = re.compile(r"[^.\[]*")
JsonStep = str | int  # a key of an object, or the index of an array element
_KEYS_ARE = (
    "keys are letters, digits, '_' and '-', separated by dots, not digits alone (an array "
    "element is [0]); a key that holds dots or '/' goes in double quotes: "
    'attributes."gen_ai.request.model"'
)
_INDEX_IS = (
    "an array index is a whole number from 0 (the first element) to 999999, or from -1 (the "
    "last) to -999999, e.g. choices[0], messages[-1]"
)
_QUOTED_ARE = (
    "a key in double quotes is letters, digits, '_', '-', '.', '/' and ':' (no quote, "
    "backslash, '$' or space), not digits alone"
)


def _keys(value: str, rest: str) -> tuple[JsonStep, ...]:
    """The steps of `rest` (`.a."b.c"[0]`), each checked: ValueError at the first wrong one."""
    keys: list[JsonStep] = []
    at = 0
    while at < len(rest):
        step = _STEP.match(rest, at)
        if step is None and rest[at] == "[":  # `[0` never closed
            raise ValueError(f"{value!r}: a '[' is not closed ({_INDEX_IS})")
        if step is None and rest[at] == "]":
            raise ValueError(f"{value!r}: a ']' without its '[' ({_INDEX_IS})")
        if step is None and rest[at] != '"':  # `a[0]x`, `"a.b"c`
            raise ValueError(
                f"{value!r}: after {value[: len(value) - len(rest) + at]!r}, a step starts with"
                " '.' (a key) or '[' (an array index)"
            )
        if step is None:  # a quote inside a plain key: `a"b`
            raise ValueError(f"{value!r}: a quote may only enclose a whole key ({_KEYS_ARE})")
        if step["index"] is not None:
            if not _INDEX.match(step["index"]):
                raise ValueError(f"[{step['index']}] of {value!r}: {_INDEX_IS}")
            keys.append(int(step["index"]))
            at = step.end()
            continue
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


def split_json_path(path: str) -> tuple[str, tuple[JsonStep, ...]]:
    """`metadata.account.plan` -> ("metadata", ("account", "plan")); `attributes."gen_ai.
    request.model"` -> ("attributes", ("gen_ai.request.model",)); `response.choices[0].text`
    -> ("response", ("choices", 0, "text")): the JSON column and the steps from its top value
    down to the value, quotes taken off (a path `check_json_path` took)."""
    column = _COLUMN.match(path).group()  # type: ignore[union-attr]  # matches any text
    return column, _keys(path, path[len(column) :])


def json_path_text(column: str, keys: tuple[JsonStep, ...]) -> str:
    """The path as json_fields takes it: a key that is no plain word goes in double quotes,
    an index in brackets."""
    text = column
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += "." + (key if JSON_KEY_PATTERN.match(key) else f'"{key}"')
    return text


def sql_json_path(keys: tuple[JsonStep, ...], *, from_end: str = "#") -> str:
    """The SQL/JSON path of MySQL, MariaDB, SQLite and DuckDB: `$."choices"[0]."text"` (every
    key in double quotes, which a key may not hold). An index from the end is `[#-1]` (SQLite,
    DuckDB; `from_end="#"`) or `[last]`, `[last-1]` (MySQL, MariaDB; `from_end="last"`)."""

    def index(k: int) -> str:
        if k >= 0:
            return f"[{k}]"
        if from_end == "last":
            return "[last]" if k == -1 else f"[last-{-k - 1}]"
        return f"[#{k}]"

    return "$" + "".join(index(k) if isinstance(k, int) else f'."{k}"' for k in keys)


def check_json_path(value: object) -> str:
    """A path as `json_fields` takes it: a column name, then at least one step, each a plain
    word, a quoted key or an array index; what is wrong said plainly (the loader adds the
    file, line and key)."""
    if not isinstance(value, str):
        raise ValueError("expected '<json column>.<key>[.<key>...]', e.g. metadata.tenant")
    column = _COLUMN.match(value).group()  # type: ignore[union-attr]  # matches any text
    rest = value[len(column) :]
    if "'" in value or re.search(r'\[\s*"', value):
        raise ValueError(
            f"{value!r}: a key that holds dots goes in double quotes, not brackets or single "
            'quotes: attributes."gen_ai.request.model"'
        )
    if not IDENTIFIER_PATTERN.match(column):
        raise ValueError(f"{column!r} is not a plain SQL identifier (the JSON column)")
    if not rest:
        raise ValueError(
            f"{value!r} names no key: write '<json column>.<key>[.<key>...]', e.g. {column}.tenant"
        )
    _keys(value, rest)
    return value
