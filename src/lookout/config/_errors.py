"""pydantic's validation errors as config issues in the words of a config file, located.

Each error becomes `monitors.yml:14:9: monitors[0].rules[2].threshold: expected a number`: the
key path without pydantic's union branch names, a message a person reads without knowing
pydantic, once per key path and message.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lookout.config._routes import owner_key_message
from lookout.config._yaml import KeyPath, LocatedYaml
from lookout.config.validation import KINDS
from lookout.errors import ConfigError, ConfigIssue

__all__ = ["validate_model"]

_FRIENDLY = {
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number (not .nan or .inf)",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "none_required": "expected null",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "datetime_parsing": "expected a date-time like 2026-11-02T00:00:00Z",
    "union_tag_invalid": "unknown expectation kind",
    "union_tag_not_found": "missing `kind` (the expectation's type)",
    "datetime_from_date_parsing": "expected a date-time like 2026-11-02T00:00:00Z",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"unknown expectation kind {tag!r}; known: {', '.join(KINDS)}"
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return message


def _issues_from_validation(
    doc: LocatedYaml, exc: ValidationError, model: type[Any] | None = None
) -> list[ConfigIssue]:
    issues = []
    for error in _union_types_merged(exc.errors(include_url=False, include_input=False)):
        loc = error["loc"]
        path: KeyPath = tuple(
            part
            for index, part in enumerate(loc)
            if not _is_union_tag(part)
            # discriminated unions add the `kind` tag after the list index
            and not (part in KINDS and index and isinstance(loc[index - 1], int))
        )
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "kind")
        message = _message(error)
        if error["type"] == "extra_forbidden" and len(path) == 3 and path[0] == "owners":
            message = owner_key_message(path[2])
        elif error["type"] == "extra_forbidden" and path and isinstance(path[-1], str):
            message += _did_you_mean(path[-1], _keys_at(model, path[:-1]))
        issue = doc.issue(path, message)
        if str(issue) not in {str(i) for i in issues}:  # union branches repeat themselves
            issues.append(issue)
    return issues


_TYPE_MISMATCHES = frozenset(
    {"bool_type", "bool_parsing", "int_type", "int_parsing", "int_from_float", "float_type",
     "float_parsing", "string_type", "none_required"}
)  # fmt: skip


def _union_types_merged(errors: list[Any]) -> list[Any]:
    """A value no member of a scalar union takes is one error, `expected true or false, an
    integer, a number or a string`, not one line per member (`where: {parent_run_id: [[1]]}`
    printed four lines for one value); when a member took the value's type and refused the
    value (`.nan` is a number, but not a finite one), that member's error alone is said."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    order: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        if loc and _is_union_tag(loc[-1]):
            if loc[:-1] not in groups:
                order.append(loc[:-1])
            groups.setdefault(loc[:-1], []).append(error)
        else:
            order.append(error)
    out: list[Any] = []
    for item in order:
        if not isinstance(item, tuple):
            out.append(item)
            continue
        members = groups[item]
        if len({e["loc"][-1] for e in members}) < 2:  # a key named `int`, not a union's members
            out += members
            continue
        refused = [e for e in members if e["type"] not in _TYPE_MISMATCHES]
        if refused:
            out += refused
            continue
        kinds = list(dict.fromkeys(_FRIENDLY[e["type"]].removeprefix("expected ") for e in members))
        said = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        out.append({**members[0], "loc": item, "type": "union_types", "msg": f"expected {said}"})
    return out


def _did_you_mean(key: str, known: list[str]) -> str:
    """` (did you mean ok_statuses?)` for a key one slip away from a known one, else ''."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


@functools.cache
def _keys_by_path(model: type[Any]) -> dict[str, list[str]]:
    """key path of every mapping under `model`, as the config reference walks them
    (`monitors[].source`, `owners.<name>`) -> the keys it allows (every member's, for a
    tagged union). Imported here: only a config with a misspelt key pays for the walk."""
    from lookout.config.reference import sections

    out: dict[str, list[str]] = {}
    for section in sections(model, ""):
        known = out.setdefault(section.key, [])
        for name, field in section.model.model_fields.items():
            if (key := field.alias or name) not in known:
                known.append(key)
    return out


def _keys_at(model: type[Any] | None, path: KeyPath) -> list[str]:
    """The keys the model allows in the mapping at `path`, [] where it cannot tell: a list
    index is `[]` in the reference's key paths, and a key no field has is a dict's own key
    (an owner's name), `<name>` there."""
    if model is None:
        return []
    keys = _keys_by_path(model)
    at = ""
    for part in path:
        if isinstance(part, int):
            at += "[]"
            continue
        named = part if part in keys.get(at, ()) else "<name>"
        at = f"{at}.{named}" if at else named
    return keys.get(at, [])


def _is_union_tag(part: object) -> bool:
    # pydantic adds the branch name of a union (e.g. 'function-after[...]') into `loc`.
    return isinstance(part, str) and (
        "[" in part or part in {"str", "int", "float", "bool", "none"}
    )


def validate_model(
    doc: LocatedYaml, data: Any, model: type[Any], context: dict[str, Any] | None = None
) -> Any:
    """`data` as `model` (validators see `context`), errors located in `doc`."""
    if not isinstance(data, dict):
        raise ConfigError([doc.issue((), "expected a mapping at the top level")])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(_issues_from_validation(doc, exc, model)) from None
