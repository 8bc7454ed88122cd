"""Structure checks: the answer is valid JSON (optionally of a schema), the agent's tool calls
went through.

Reasons name what failed (a JSON error position, a schema keyword and path, a tool's name and
status) but never quote values from the record: they may hold user data.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from lookout.checks.evaluators.offline import OfflineEvaluator

__all__ = ["FAILED_STATUSES", "JsonValidity", "ToolCalls", "tool_call_failures"]

CODE_VERSION = "1"
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)
FAILED_STATUSES = frozenset(
    {"error", "errored", "failed", "failure", "fail", "timeout", "timed_out", "cancelled",
     "canceled", "rejected", "denied", "invalid"}
)  # fmt: skip


def _schema_path(path: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


@dataclasses.dataclass(frozen=True)
class JsonValidity(OfflineEvaluator):
    """Does the output parse as JSON (and, with `schema`, validate against that JSON Schema)?

    `strip_fence`: accept a Markdown code fence around the JSON (```json ... ```), as models
    often add one. Schema validation uses the `jsonschema` package (the validator class is
    picked from the schema's `$schema`, Draft 2020-12 by default).
    """

    CODE_VERSION: ClassVar[str] = CODE_VERSION
    needs: ClassVar[tuple[str, ...]] = ("output",)

    name: str = "json_validity"
    threshold: float = 1.0
    schema: dict[str, Any] | None = None
    strip_fence: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schema is not None:
            object.__setattr__(self, "schema", copy.deepcopy(dict(self.schema)))
            validator_class = _validator_class(self.schema)
            validator_class.check_schema(self.schema)  # a bad schema fails at config time

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        output = record["output"]
        if isinstance(output, Mapping | list):
            # a JSON or JSONB column the driver hands over parsed (psycopg, a JSONL record's
            # object): JSON by construction; its str() is Python's repr, which failed
            value: Any = output
        else:
            text = str(output)
            if self.strip_fence and (fenced := _FENCE.match(text)):
                text = fenced.group(1)
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                return 0.0, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if self.schema is None:
            return 1.0, "valid JSON"
        validator = _validator_class(self.schema)(self.schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return 1.0, "valid JSON, matches the schema"
        first = errors[0]
        where = _schema_path(first.absolute_path)
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return 0.0, f"schema: {where} fails '{first.validator}'{more}"


def _validator_class(schema: Mapping[str, Any]) -> Any:
    try:
        from jsonschema.validators import Draft202012Validator, validator_for
    except ImportError as exc:  # pragma: no cover - jsonschema ships with great_expectations
        raise ImportError("json_validity with a schema needs the 'jsonschema' package") from exc
    return validator_for(schema, default=Draft202012Validator)


def _call_name(call: Mapping[str, Any]) -> str:
    function = call.get("function")
    name = call.get("name") or (function.get("name") if isinstance(function, Mapping) else None)
    return str(name) if name else "unnamed"


def _call_failure(call: Any) -> str | None:
    """Why this call failed ('error', 'status=timeout', 'arguments not JSON'), or None."""
    if not isinstance(call, Mapping):
        return "not an object"
    if call.get("ok") is False or call.get("success") is False:
        return "ok=false"
    if call.get("is_error") is True or call.get("error") not in (None, "", False, {}, []):
        return "error"
    status = call.get("status") or call.get("state")
    if isinstance(status, str) and status.strip().casefold() in FAILED_STATUSES:
        return f"status={status.strip().casefold()}"
    function = call.get("function")
    arguments = call.get("arguments")
    if arguments is None and isinstance(function, Mapping):
        arguments = function.get("arguments")
    if isinstance(arguments, str) and arguments.strip():
        try:
            json.loads(arguments)
        except json.JSONDecodeError:
            return "arguments not JSON"
    return None


def tool_call_failures(tool_calls: Any) -> tuple[int, list[tuple[str, str]]] | None:
    """(number of calls, [(tool name, why it failed)]) or None when there is no call.

    Accepts JSON text or the parsed value: a list of calls, one call object, or an object with
    a `tool_calls` list. Raises ValueError when the text is not JSON.
    """
    if isinstance(tool_calls, (str, bytes)):
        try:
            tool_calls = json.loads(tool_calls)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg}") from exc
    if isinstance(tool_calls, Mapping):
        inner = tool_calls.get("tool_calls")
        tool_calls = inner if isinstance(inner, list) else [tool_calls]
    if not isinstance(tool_calls, list):
        raise ValueError(f"not a list of calls but {type(tool_calls).__name__}")
    failures = []
    for call in tool_calls:
        why = _call_failure(call)
        if why is not None:
            name = _call_name(call) if isinstance(call, Mapping) else "unnamed"
            failures.append((name, why))
    return (len(tool_calls), failures) if tool_calls else None


@dataclasses.dataclass(frozen=True)
class ToolCalls(OfflineEvaluator):
    """Did the agent step's tool calls succeed? Score = the share of calls that did.

    A call fails when it is not an object, says `ok`/`success` false, carries an `error` (or
    `is_error`), has a failed `status` (see FAILED_STATUSES) or arguments that are not JSON.
    Text that is not JSON scores 0. A record with an empty list of calls is skipped. The
    default threshold (1.0) passes a step only when every call succeeded.
    """

    CODE_VERSION: ClassVar[str] = CODE_VERSION
    needs: ClassVar[tuple[str, ...]] = ("tool_calls",)

    name: str = "tool_calls"
    threshold: float = 1.0

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        try:
            summary = tool_call_failures(record["tool_calls"])
        except ValueError as exc:
            return 0.0, f"tool_calls unreadable: {exc}"
        if summary is None:
            return None, "no tool calls"
        total, failures = summary
        if not failures:
            return 1.0, f"{total}/{total} calls succeeded"
        listed = ", ".join(f"{name} ({why})" for name, why in failures[:3])
        more = f" +{len(failures) - 3} more" if len(failures) > 3 else ""
        return 1 - len(failures) / total, f"{len(failures)}/{total} failed: {listed}{more}"
