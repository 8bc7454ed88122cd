"""The record contract: canonical column names, accepted aliases, identifier rules.

Monitors map their table's columns onto these names; only `record_id` and `ts` are required,
the rest switch on the checks that need them. Span tables exported by tracing tools keep their
OpenTelemetry GenAI / OpenInference attribute names, which are accepted as aliases.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = [
    "CANONICAL_ALIASES",
    "CANONICAL_FIELDS",
    "IDENTIFIER_PATTERN",
    "NUMERIC_FIELDS",
    "REQUIRED_FIELDS",
    "TEXT_FIELDS",
    "canonical_name",
    "check_identifier",
    "is_missing",
]

REQUIRED_FIELDS = ("record_id", "ts")

CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id",
    "ts",
    "ingested_at",
    "model_version",
    "prompt_version",
    "route",
    "input",
    "output",
    "context",
    "expected",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "status",
    "is_fallback",
    "retry_count",
    "tool_calls",
    "feedback",
    "trace_id",
    "span_id",
    "parent_span_id",
    "step",
)

# Numeric measurements: coerced to float on read; never negative in a valid record.
NUMERIC_FIELDS = (
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "retry_count",
)

# Long text columns: never read unless a stage needs them (they dominate read time).
TEXT_FIELDS = frozenset({"input", "output", "context", "expected", "tool_calls"})

CANONICAL_ALIASES: dict[str, str] = {
    # OpenTelemetry GenAI semantic conventions
    "gen_ai.request.model": "model_version",
    "gen_ai.response.model": "model_version",
    "gen_ai.usage.input_tokens": "prompt_tokens",
    "gen_ai.usage.output_tokens": "completion_tokens",
    "gen_ai.server.time_to_first_token": "ttft_ms",
    "gen_ai.server.request.duration": "latency_ms",
    "gen_ai.prompt": "input",
    "gen_ai.completion": "output",
    "trace_id": "trace_id",
    "span_id": "span_id",
    # OpenInference
    "llm.model_name": "model_version",
    "llm.token_count.prompt": "prompt_tokens",
    "llm.token_count.completion": "completion_tokens",
    "input.value": "input",
    "output.value": "output",
    "retrieval.documents": "context",
    "context.trace_id": "trace_id",
    "context.span_id": "span_id",
    "parent_id": "parent_span_id",
}

# Plain SQL identifiers only: letters, digits, underscore, not starting with a digit, and the
# 63-byte limit of PostgreSQL. Anything else is rejected at config load, before any SQL exists;
# accepted names are still quoted by SQLAlchemy when statements are compiled.
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def canonical_name(name: str) -> str | None:
    """The canonical field a config key means (itself, or the field an alias stands for)."""
    if name in CANONICAL_FIELDS:
        return name
    return CANONICAL_ALIASES.get(name)


def check_identifier(value: str) -> str:
    """Return `value` if it is a safe SQL identifier, else raise ValueError saying why."""
    if not isinstance(value, str) or not IDENTIFIER_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a plain SQL identifier (letters, digits and _, "
            "not starting with a digit, at most 63 characters)"
        )
    return value


def is_missing(value: object) -> bool:
    """A logged value that is not there: None, pandas' NA, or a float NaN (how pandas and
    the drivers hand back a NULL, depending on the column's dtype)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
