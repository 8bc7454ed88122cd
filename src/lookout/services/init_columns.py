"""What a column holds, for `lookout init` (pure): its name, its SQL type and its sampled values.

A column's *profile* summarises a sample of its values (nulls, distinct values, numbers, text
lengths, version-like or model-like strings). *Candidates* are the canonical fields a column
could be mapped to, each with a score and the reason a person can check: a known name (the
record contract's own, OpenTelemetry GenAI and OpenInference attribute names, common logging
names) scores higher than a guess from values alone (integer HTTP codes, +1/-1 thumbs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookout.model.aggregates import label_text
from lookout.model.record import CANONICAL_ALIASES, IDENTIFIER_PATTERN

__all__ = [
    "Candidate",
    "ColumnInfo",
    "ColumnProfile",
    "Kind",
    "candidates",
    "column_kind",
    "describe",
    "low_cardinality",
    "normalized_name",
    "profile_column",
    "value_shares",
]

Kind = Literal["integer", "number", "text", "timestamp", "date", "boolean", "other"]

# Common names per canonical field, normalized (`normalized_name`). OTel GenAI / OpenInference
# attribute names are added from the record contract's aliases (dots read as underscores, so
# `gen_ai.usage.input_tokens` flattened to `gen_ai_usage_input_tokens` is found too).
_NAMES: dict[str, tuple[str, ...]] = {
    "record_id": (
        "record_id", "request_id", "req_id", "req_uuid", "request_uuid", "event_id",
        "message_id", "log_id", "call_id", "completion_id", "response_id", "generation_id",
        "interaction_id", "id", "uuid", "guid",
    ),
    "ts": (
        "ts", "timestamp", "time", "created", "created_at", "created_time", "creation_time",
        "event_time", "event_ts", "event_timestamp", "request_time", "request_ts",
        "requested_at", "start_time", "started_at", "start_timestamp", "logged_at",
        "occurred_at", "datetime", "time_stamp",
    ),
    "ingested_at": (
        "ingested_at", "ingestion_time", "ingested_time", "inserted_at", "insert_time",
        "loaded_at", "load_time", "received_at", "arrived_at", "etl_loaded_at", "written_at",
        "processed_at", "collected_at", "export_time", "exported_at",
    ),
    "model_version": (
        "model", "model_name", "model_id", "model_version", "llm_model", "llm_model_name",
        "deployment", "deployment_name", "engine", "model_slug", "checkpoint",
        "gen_ai_request_model", "gen_ai_response_model",
    ),
    "prompt_version": (
        "prompt_version", "prompt_id", "prompt_template_version", "template_version",
        "prompt_template_id", "app_version", "application_version", "service_version",
        "version", "release", "release_version", "build", "build_id", "git_sha",
        "git_commit", "commit_sha", "deploy_version", "code_version", "agent_version",
    ),
    "route": (
        "route", "endpoint", "path", "http_route", "url_path", "operation", "operation_name",
        "gen_ai_operation_name", "task", "task_type", "use_case", "feature", "intent",
        "skill", "workflow", "agent", "agent_name", "span_name",
    ),
    "input": (
        "input", "prompt", "prompt_text", "question", "query", "user_query", "user_message",
        "user_input", "request_text", "input_text", "input_value", "llm_input_messages",
        "messages", "request_body", "instruction",
    ),
    "output": (
        "output", "answer", "answer_text", "response", "response_text", "completion",
        "completion_text", "reply", "output_text", "output_value", "llm_output_messages",
        "generated_text", "generation", "assistant_message", "result_text",
    ),
    "context": (
        "context", "contexts", "retrieved_context", "retrieval_documents", "documents",
        "docs", "sources", "passages", "chunks", "retrieved_docs", "rag_context",
        "context_text",
    ),
    "expected": (
        "expected", "expected_output", "expected_answer", "reference", "reference_answer",
        "ground_truth", "gold", "gold_answer",
    ),
    "latency_ms": (
        "latency_ms", "latency", "duration_ms", "duration", "elapsed_ms", "elapsed",
        "response_time_ms", "response_time", "took_ms", "total_time_ms", "request_duration_ms",
        "processing_time_ms", "wall_time_ms", "time_ms",
    ),
    "ttft_ms": (
        "ttft_ms", "ttft", "time_to_first_token_ms", "time_to_first_token", "first_token_ms",
        "first_token_latency_ms",
    ),
    "prompt_tokens": (
        "prompt_tokens", "input_tokens", "tokens_in", "tokens_input", "usage_prompt_tokens",
        "usage_input_tokens", "num_prompt_tokens", "n_prompt_tokens", "prompt_token_count",
        "gen_ai_usage_prompt_tokens",
    ),
    "completion_tokens": (
        "completion_tokens", "output_tokens", "tokens_out", "tokens_output",
        "usage_completion_tokens", "usage_output_tokens", "num_completion_tokens",
        "n_completion_tokens", "completion_token_count", "gen_ai_usage_completion_tokens",
    ),
    "cost_usd": (
        "cost_usd", "cost", "price_usd", "usd", "spend_usd", "cost_dollars", "total_cost",
        "total_cost_usd", "llm_cost",
    ),
    "status": (
        "status", "status_code", "http_status", "http_status_code", "response_status",
        "response_code", "http_code", "outcome", "result", "state", "otel_status_code",
        "http_response_status_code",
    ),
    "is_fallback": (
        "is_fallback", "fallback", "used_fallback", "fallback_used", "is_fallback_response",
        "degraded",
    ),
    "retry_count": ("retry_count", "retries", "n_retries", "num_retries", "retry"),
    "tool_calls": (
        "tool_calls", "tools_called", "function_calls", "tool_use", "tool_invocations",
        "llm_tool_calls",
    ),
    "feedback": (
        "feedback", "thumbs", "thumb", "thumbs_up_down", "rating", "user_rating",
        "user_feedback", "vote", "reaction", "feedback_score", "feedback_value",
    ),
    "trace_id": (
        "trace_id", "session_id", "conversation_id", "thread_id", "chat_id", "otel_trace_id",
    ),
    "span_id": ("span_id",),
    "parent_span_id": ("parent_span_id", "parent_id"),
    "step": ("step", "step_index", "turn", "turn_index", "step_number"),
}  # fmt: skip

_PREFIXES = ("span_attributes_", "resource_attributes_", "attributes_", "attr_")
# Words that make an id column some other id than the record's own.
_OTHER_IDS = frozenset(
    {"trace", "session", "conversation", "thread", "parent", "tenant", "user", "customer",
     "org", "account", "model", "prompt", "span", "chat", "team", "project", "workspace"}
)  # fmt: skip
_VERSION = re.compile(r"v?\d+(\.\d+){1,3}([-+._][0-9A-Za-z.]+)?|[0-9a-f]{7,40}", re.IGNORECASE)
_MODEL = re.compile(
    r"(gpt|o\d|claude|llama|meta-llama|mistral|mixtral|gemini|gemma|qwen|command|deepseek|"
    r"phi|text-|davinci|palm|bison|titan|nova|grok|sonnet|haiku|opus)",
    re.IGNORECASE,
)
_TIME_TEXT = re.compile(r"\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
LONG_TEXT = 60  # mean characters above which text is prose, not a label


def normalized_name(name: str) -> str:
    """`gen_ai.usage.input_tokens`, `genAiUsageInputTokens`, `attributes.gen_ai...` alike."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


def _name_table() -> dict[str, dict[str, str]]:
    """Field -> normalized name -> where the name comes from."""
    table: dict[str, dict[str, str]] = {
        field: dict.fromkeys(names, f"a common name for {field}") for field, names in _NAMES.items()
    }
    for alias, field in CANONICAL_ALIASES.items():
        source = "OpenInference" if alias.startswith(("llm.", "input.", "output.")) else None
        if alias.startswith(("retrieval.", "context.", "parent_id")):
            source = "OpenInference"
        origin = f"the {source or 'OpenTelemetry GenAI'} attribute {alias}"
        table[field][normalized_name(alias)] = origin
    for field in table:
        table[field][field] = "the canonical name"
    return table


NAMES = _name_table()


@dataclass(frozen=True)
class ColumnInfo:
    """One reflected column: its name, its SQL type as the database says, and its kind."""

    name: str
    sql_type: str
    kind: Kind
    timezone: bool = False

    @property
    def mappable(self) -> bool:
        """Config only takes plain SQL identifiers (see the record contract)."""
        return bool(IDENTIFIER_PATTERN.match(self.name))


def column_kind(type_: Any) -> Kind:
    """A reflected SQLAlchemy type as the kind of values it holds."""
    if isinstance(type_, sa.Boolean):
        return "boolean"
    if isinstance(type_, sa.Integer):
        return "integer"
    if isinstance(type_, sa.Float | sa.Numeric):
        return "number"
    if isinstance(type_, sa.DateTime):
        return "timestamp"
    if isinstance(type_, sa.Date):
        return "date"
    if isinstance(type_, sa.String | sa.JSON):
        return "text"
    return "other"


@dataclass(frozen=True)
class ColumnProfile:
    """A sampled column's values in figures (`rows` sampled, of which `non_null` had one)."""

    info: ColumnInfo
    rows: int
    non_null: int
    distinct: int
    top: tuple[tuple[str, int], ...]  # the 50 most frequent value labels and their counts
    numeric_share: float  # of non-null values that are numbers (or text holding one)
    minimum: float | None
    maximum: float | None
    integral: bool  # every number is a whole number
    values: frozenset[float]  # the distinct numbers, when there are at most 20
    mean_length: float  # of text values
    version_share: float
    model_share: float
    time_share: float  # text that reads as a timestamp

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def unique(self) -> bool:
        return self.non_null == self.rows > 0 and self.distinct == self.non_null

    @property
    def null_share(self) -> float:
        return 1.0 - self.non_null / self.rows if self.rows else 1.0

    @property
    def is_number(self) -> bool:
        return self.non_null > 0 and (
            self.info.kind in ("integer", "number") or self.numeric_share >= 0.95
        )

    @property
    def is_time(self) -> bool:
        return self.info.kind == "timestamp" or (self.non_null > 0 and self.time_share >= 0.95)

    @property
    def is_text(self) -> bool:
        return self.info.kind in ("text", "other") and not self.is_time

    @property
    def is_long_text(self) -> bool:
        return self.is_text and self.mean_length >= LONG_TEXT

    def shown(self, count: int = 3) -> str:
        """A few of its most frequent values, for a reason line."""
        return ", ".join(_clip(value) for value, _ in self.top[:count])


def _clip(text: str, width: int = 24) -> str:
    """A sampled value fit for a one-line reason and a YAML comment (no control characters)."""
    clean = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", text)
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def profile_column(info: ColumnInfo, values: pd.Series) -> ColumnProfile:
    """The figures of one column's sampled values."""
    present = values[values.notna()]
    labels = pd.Series([label_text(v) for v in present.to_numpy(dtype=object)], dtype=object)
    counts = labels.value_counts()
    texts = labels if info.kind in ("text", "other") else pd.Series([], dtype=object)
    numbers = _numbers(present, info.kind)
    finite = numbers[~np.isnan(numbers)]
    distinct_numbers = np.unique(finite)
    return ColumnProfile(
        info=info,
        rows=len(values),
        non_null=len(present),
        distinct=int(counts.size),
        top=tuple((str(k), int(v)) for k, v in counts.head(50).items()),
        numeric_share=_share(~np.isnan(numbers)),
        minimum=float(finite.min()) if finite.size else None,
        maximum=float(finite.max()) if finite.size else None,
        integral=bool(finite.size) and bool(np.all(np.mod(finite, 1) == 0)),
        values=frozenset(distinct_numbers.tolist()) if distinct_numbers.size <= 20 else frozenset(),
        mean_length=float(texts.str.len().mean()) if len(texts) else 0.0,
        version_share=_share(texts.map(lambda t: bool(_VERSION.fullmatch(t.strip())))),
        model_share=_share(texts.map(lambda t: bool(_MODEL.match(t.strip())))),
        time_share=_share(texts.map(lambda t: bool(_TIME_TEXT.match(t)))),
    )


def _share(mask: Any) -> float:
    """The share of True in a boolean array or Series (0 when empty)."""
    array = np.asarray(mask, dtype=bool)
    return float(array.mean()) if array.size else 0.0


def _numbers(present: pd.Series, kind: Kind) -> np.ndarray:
    if kind in ("integer", "number"):
        return pd.to_numeric(present, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if kind in ("text", "other"):
        text = present.astype(str).str.strip()
        numeric = text.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
        return pd.to_numeric(text.where(numeric), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    return np.full(len(present), np.nan)


@dataclass(frozen=True)
class Candidate:
    """`column` could be mapped to `field`: how sure (`score`) and why."""

    field: str
    column: str
    score: int
    reason: str


NAMED = 10  # the column's name says it
NAMED_LOOSELY = 7  # the name starts or ends with such a name (`response_latency_ms`)
BY_VALUES = 5  # values that can only mean this (HTTP codes, +1/-1)
GUESSED = 2  # values that fit, nothing more


def _name_hit(field: str, name: str) -> tuple[int, str] | None:
    table = NAMES[field]
    if name in table:
        return NAMED, table[name]
    for known in sorted(table, key=len, reverse=True):
        if len(known) >= 4 and (name.endswith("_" + known) or name.startswith(known + "_")):
            return NAMED_LOOSELY, f"its name contains {known!r} ({field})"
    return None


def _fits(field: str, p: ColumnProfile) -> bool:
    """Whether the sampled values can be what `field` holds."""
    kind = p.info.kind
    if p.non_null == 0:
        return field not in ("record_id", "ts")
    if field in ("ts", "ingested_at"):
        return p.is_time
    if field == "record_id":
        return p.unique and kind in ("integer", "text", "other")
    if field in ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "cost_usd"):
        return p.is_number and kind != "boolean"
    if field == "retry_count":
        return p.is_number and kind != "boolean" and p.integral
    if field == "is_fallback":
        return kind == "boolean" or (p.is_number and p.values <= {0.0, 1.0} and bool(p.values))
    if field in ("input", "output", "context", "expected", "tool_calls"):
        return p.is_text
    if field in ("model_version", "prompt_version", "route"):
        return (p.is_text or kind == "integer") and not p.is_long_text and not p.is_time
    if field in ("status", "feedback"):
        return (p.is_text and not p.is_long_text and p.distinct <= 50) or kind in (
            "integer",
            "boolean",
        )
    if field in ("trace_id", "span_id", "parent_span_id"):
        return kind in ("integer", "text", "other") and not p.is_long_text
    if field == "step":
        return kind in ("integer", "text", "other") and not p.is_long_text
    return False


def candidates(p: ColumnProfile) -> tuple[list[Candidate], list[str]]:
    """The fields `p`'s column could be mapped to, and why a named one was turned down."""
    name = normalized_name(p.name)
    found: list[Candidate] = []
    refused: list[str] = []
    for field in NAMES:
        hit = _name_hit(field, name)
        if hit is None:
            continue
        score, why = hit
        if field == "record_id" and set(name.split("_")) & _OTHER_IDS:
            continue
        if _fits(field, p):
            found.append(Candidate(field, p.name, score, why))
        else:
            refused.append(f"named like {field} but its values do not fit ({_described(p)})")
    found += _by_values(p, name, {c.field for c in found})
    return found, refused


def describe(field: str, p: ColumnProfile) -> str:
    """What the values of a column mapped to `field` look like, for its reason."""
    if p.non_null == 0:
        return "no value in the sample"
    if field == "record_id":
        return "unique in the sample"
    if field in ("ts", "ingested_at"):
        return "timestamps" if p.info.kind == "timestamp" else "text holding timestamps"
    if field in ("status", "feedback", "model_version", "prompt_version", "route"):
        empty = f", {p.null_share:.0%} empty" if p.null_share >= 0.05 else ""
        kind = "integer" if p.info.kind == "integer" else "values"
        version = " (version-like)" if p.version_share >= 0.9 and field != "status" else ""
        return f"{kind} {p.shown(4)}{version}{empty}"
    if p.is_number:
        return f"numbers {_number(p.minimum)} to {_number(p.maximum)}"
    if p.info.kind == "boolean":
        return "true/false"
    return f"text, ~{p.mean_length:.0f} characters"


def _described(p: ColumnProfile) -> str:
    if p.non_null == 0:
        return "no value in the sample"
    if p.is_time:
        return "timestamps"
    if p.is_number:
        return f"numbers {_number(p.minimum)} to {_number(p.maximum)}"
    if p.info.kind == "boolean":
        return "true/false"
    if p.info.kind == "date":
        return "dates without a time"
    extra = ", not unique" if not p.unique else ""
    return f"{p.distinct} distinct values like {p.shown()}{extra}"


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _by_values(p: ColumnProfile, name: str, named: set[str]) -> list[Candidate]:
    """Fields the values alone point to, whatever the column is called."""
    out: list[Candidate] = []
    kind = p.info.kind
    values = p.values
    if kind == "integer" and p.non_null and "status" not in named:
        low, high = p.minimum or 0, p.maximum or 0
        if low >= 100 and high <= 599 and any(200 <= v < 300 for v in values):
            codes = ", ".join(_number(v) for v in sorted(values)[:6])
            out.append(Candidate("status", p.name, BY_VALUES, f"integer HTTP codes ({codes})"))
    thumbs = {-1.0, 1.0} <= values <= {-1.0, 0.0, 1.0}
    if kind == "integer" and thumbs and "feedback" not in named:
        out.append(Candidate("feedback", p.name, BY_VALUES, "+1/-1 values (thumbs)"))
    if p.is_text and not p.is_long_text and p.non_null and p.distinct <= 100:
        if p.version_share >= 0.9 and "prompt_version" not in named:
            out.append(
                Candidate(
                    "prompt_version",
                    p.name,
                    BY_VALUES - 1,
                    f"version-like strings ({p.shown()})",
                )
            )
        if p.model_share >= 0.9 and "model_version" not in named:
            out.append(
                Candidate("model_version", p.name, BY_VALUES - 1, f"model names ({p.shown()})")
            )
    if p.is_time and "ts" not in named:
        out.append(Candidate("ts", p.name, GUESSED, "the only kind of column windows can use"))
    if "record_id" not in named and p.unique and kind in ("integer", "text", "other"):
        tokens = set(name.split("_"))
        if not p.is_long_text and not p.is_time and not tokens & _OTHER_IDS:
            idish = tokens & {"id", "uuid", "guid", "key"}
            out.append(
                Candidate(
                    "record_id",
                    p.name,
                    BY_VALUES if idish else GUESSED,
                    "unique in the sample" + (" and named like an id" if idish else ""),
                )
            )
    return out


def low_cardinality(p: ColumnProfile, max_values: int = 50) -> bool:
    """Short text (or true/false) with few distinct values, most rows holding one: a cohort."""
    if p.info.kind == "boolean":
        return p.non_null > 0 and p.null_share <= 0.5
    return (
        p.is_text
        and not p.is_long_text
        and not p.is_number
        and 2 <= p.distinct <= max_values
        and p.distinct <= max(2, p.non_null // 5)
        and p.null_share <= 0.5
    )


def value_shares(p: ColumnProfile) -> list[float]:
    """The share of the rows with a value each of the most frequent values holds."""
    return [count / p.non_null for _, count in p.top] if p.non_null else []
