"""pydantic's validation errors as config issues in the words of a config file, located.

Each error becomes `monitors.yml:14:9: monitors[0].rules[2].threshold: expected a number`: the
key path without pydantic's union branch names, a message a person reads without knowing
pydantic, once per key path and message.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

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


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The one config model a field's type holds (inside Optional, a list or a dict's values),
    and whether a dict's key comes first in a key path; None where it holds none or several."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return _model_in(args[1])[0], True
    if origin in (list, tuple) and args:
        return _model_in(args[0])
    if origin in (typing.Union, types.UnionType):
        found = {m for m in (_model_in(a)[0] for a in args) if m is not None}
        return (found.pop(), False) if len(found) == 1 else (None, False)
    return None, False


def _keys_at(model: type[Any] | None, path: KeyPath) -> list[str]:
    """The keys the model allows at `path` (a mapping's own keys), [] where it cannot tell."""
    current, keyed = model, False
    for part in path:
        if isinstance(part, int) or current is None:
            continue
        if keyed:  # a dict's own key (an owner's name): the value's model stays
            keyed = False
            continue
        fields = getattr(current, "model_fields", {})
        field = next((f for n, f in fields.items() if part in (n, f.alias)), None)
        current, keyed = _model_in(field.annotation) if field is not None else (None, False)
    fields = getattr(current, "model_fields", {}) if current is not None and not keyed else {}
    return [f.alias or n for n, f in fields.items()]


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
