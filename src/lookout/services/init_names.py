"""The names a column of each canonical field goes by, for `lookout init` (pure).

The record contract's own names, the OpenTelemetry GenAI and OpenInference attribute names
(from the contract's aliases) and common logging names, each with where it comes from, so a
column mapped by its name carries a reason a person can check (`lookout.services.init_candidates`).
"""

from __future__ import annotations

import re

from lookout.model.record import CANONICAL_ALIASES

__all__ = [
    "LEVEL_NAMES",
    "NAMES",
    "NOT_TEXT_TAILS",
    "SUCCESS_FLAGS",
    "TEXT_WORDS",
    "normalized_name",
    "says_text",
]

# a flag that says the request succeeded (`ok TINYINT(1)`): a status whose 1 is ok
SUCCESS_FLAGS = ("ok", "is_ok", "success", "is_success", "succeeded")

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
        "revision_id", "app_revision", "git_revision",
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
        "context_text", "ctx", "context_docs", "context_documents", "context_chunks",
        "retrieved_contexts", "retrieved_ctx", "retrieved_chunks", "retrieved_passages",
        "retrieval_context", "rag_ctx", "rag_docs", "grounding", "knowledge",
    ),
    "expected": (
        "expected", "expected_output", "expected_answer", "reference", "reference_answer",
        "ground_truth", "gold", "gold_answer",
    ),
    "latency_ms": (
        "latency_ms", "latency", "duration_ms", "duration", "elapsed_ms", "elapsed",
        "response_time_ms", "response_time", "took_ms", "total_time_ms", "request_duration_ms",
        "processing_time_ms", "wall_time_ms", "time_ms", "inference_ms", "inference_us",
        "inference_time", "inference_time_ms", "inference_latency", "inference_duration",
        "model_latency", "model_latency_ms", "scoring_time_ms", "total_ms", "total_latency_ms",
        "total_duration_ms", "end_to_end_ms", "e2e_ms",
    ),
    "ttft_ms": (
        "ttft_ms", "ttft", "time_to_first_token_ms", "time_to_first_token", "first_token_ms",
        "first_token_latency_ms", "first_token", "first_token_latency", "ttfb",
        "time_to_first_byte",
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
        "total_cost_usd", "llm_cost", "spend", "response_cost", "price", "total_price",
        # in another unit (`source.units`, `init_costs`); `cost_*` names are found as they are
        "usd_micros", "micro_usd", "microdollars", "usd_nanos", "nano_usd", "nanodollars",
        "usd_cents", "price_cents", "spend_cents",
    ),
    "status": (
        "status", "status_code", "http_status", "http_status_code", "response_status",
        "response_code", "http_code", "outcome", "result", "state", "otel_status_code",
        "http_response_status_code", *SUCCESS_FLAGS,
    ),
    "is_fallback": (
        "is_fallback", "fallback", "used_fallback", "fallback_used", "is_fallback_response",
        "degraded",
    ),
    "retry_count": ("retry_count", "retries", "n_retries", "num_retries", "retry"),
    "tool_calls": (
        "tool_calls", "tools_called", "function_calls", "tool_use", "tool_invocations",
        "llm_tool_calls", "tools", "tools_used", "used_tools", "tool_call", "function_call",
        "tool_calls_json", "tool_invocation",
    ),
    "feedback": (
        "feedback", "thumbs", "thumb", "thumbs_up_down", "rating", "user_rating",
        "user_feedback", "vote", "reaction", "feedback_score", "feedback_value", "csat",
        "csat_score", "satisfaction", "user_score", "stars",
    ),
    "trace_id": (
        "trace_id", "session_id", "conversation_id", "thread_id", "chat_id", "otel_trace_id",
    ),
    "span_id": ("span_id",),
    "parent_span_id": ("parent_span_id", "parent_id"),
    "step": ("step", "step_index", "turn", "turn_index", "step_number"),
}  # fmt: skip

# Names made of a head and a tail word (`in_tok`, `tokens_out`, `prompt_rev`): each head with
# each tail, and tail first too where `both_orders`. field -> (heads, tails, both_orders).
_TOKEN_TAILS = ("tokens", "token", "tok", "toks", "tkns", "token_count", "tokens_count")
_COMBINED: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "prompt_version": (
        ("prompt", "template", "prompt_template", "system_prompt"),
        ("version", "ver", "rev", "revision", "v"),
        False,
    ),
    "prompt_tokens": (("prompt", "input", "in", "inp"), _TOKEN_TAILS, True),
    "completion_tokens": (
        ("completion", "output", "out", "response", "generated", "gen"), _TOKEN_TAILS, True,
    ),
}  # fmt: skip

# The last word of a name that makes it a property of a text, not the text: `prompt_rev`,
# `question_len`, `answer_tokens` are no input or output, whatever their first word says.
NOT_TEXT_TAILS = frozenset(
    {"version", "ver", "rev", "revision", "v", "id", "ids", "uuid", "hash", "tok", "toks",
     "token", "tokens", "count", "len", "length", "chars", "size", "type", "kind", "lang",
     "language", "name", "code", "status", "score", "ms", "at", "ts", "source", "label"}
)  # fmt: skip
# Words that say a column holds text (a prompt, a document), not a label to group by.
TEXT_WORDS = frozenset(
    {"text", "ctx", "context", "contexts", "prompt", "question", "answer", "message",
     "messages", "body", "content", "doc", "docs", "document", "documents", "passage",
     "passages", "chunk", "chunks", "snippet", "summary", "description", "comment",
     "comments", "reply", "response", "query", "input", "output", "completion", "transcript"}
)  # fmt: skip

_PREFIXES = ("span_attributes_", "resource_attributes_", "attributes_", "attr_")


# a log level's column (Langfuse's `level`, OpenTelemetry logs' `severity_text`)
LEVEL_NAMES = frozenset({"level", "log_level", "severity", "severity_text", "status_level"})


def normalized_name(name: str) -> str:
    """`gen_ai.usage.input_tokens`, `genAiUsageInputTokens`, `attributes.gen_ai...` alike."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


def says_text(name: str) -> str | None:
    """The word of a normalized name that says the column holds text (`ctx`, `question`),
    unless its last word makes it a property of one (`question_len`); else None."""
    words = name.split("_")
    if words[-1] in NOT_TEXT_TAILS:
        return None
    return next((word for word in words if word in TEXT_WORDS), None)


def _combined(field: str) -> tuple[str, ...]:
    """The head-and-tail names of `field` (`_COMBINED`)."""
    heads, tails, both = _COMBINED.get(field, ((), (), False))
    names = [f"{head}_{tail}" for head in heads for tail in tails]
    if both:
        names += [f"{tail}_{head}" for head in heads for tail in tails]
    return tuple(names)


def _name_table() -> dict[str, dict[str, str]]:
    """Field -> normalized name -> where the name comes from."""
    table: dict[str, dict[str, str]] = {
        field: dict.fromkeys((*names, *_combined(field)), f"a common name for {field}")
        for field, names in _NAMES.items()
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
