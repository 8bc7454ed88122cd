"""What a judge client gets back: the reply's content and usage, its verdict or its error.

Reading a chat.completion body tolerates any shape (a field that is missing or of the wrong
type reads as nothing); an SDK error becomes a short text that holds no secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import openai

from lookout.checks.evaluators.judge_parsing import Verdict
from lookout.checks.evaluators.judge_settings import JudgeSettings

__all__ = [
    "MAX_ERROR_CHARS",
    "JudgeError",
    "JudgeReply",
    "describe_error",
    "error_message",
    "reply_content",
    "reply_field",
    "shorten",
    "token_count",
]

MAX_ERROR_CHARS = 160


@dataclass(frozen=True)
class JudgeReply:
    """A parsed verdict with what it took: tokens, USD and wall time (retries and repair in)."""

    verdict: Verdict
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    requests: int  # chat requests made: 1, or 2 after a repair (SDK retries not counted)
    repaired: bool


class JudgeError(Exception):
    """The judge could not give a verdict. The message is short and holds no secret; the usage
    spent before failing is kept so it can still be booked."""

    def __init__(
        self,
        reason: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float = 0.0,
        latency_ms: float = 0.0,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost_usd = cost_usd
        self.latency_ms = latency_ms


def reply_field(value: object, key: str) -> object:
    """`value[key]` when `value` is a mapping, else None."""
    return value.get(key) if isinstance(value, Mapping) else None


def token_count(value: object) -> int:
    """A token count as the reply gives it; 0 for anything but a positive int."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def reply_content(response: object) -> str | None:
    """choices[0].message.content of a chat.completion body; None for any other shape."""
    choices = reply_field(response, "choices")
    if not isinstance(choices, list) or not choices:
        return None
    content = reply_field(reply_field(choices[0], "message"), "content")
    return content if isinstance(content, str) else None


def error_message(body: object) -> str | None:
    """The `error.message` of an OpenAI-style error body, or a plain string body."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            return str(message) if message else None
        return str(inner) if inner else None
    return str(body) if body else None


def shorten(text: str) -> str:
    """`text` on one line, cut to MAX_ERROR_CHARS."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def describe_error(exc: openai.APIError, settings: JudgeSettings) -> str:
    """A short, secret-free account of an SDK error (after its retries)."""
    retries = settings.max_retries
    if isinstance(exc, openai.APITimeoutError):
        return f"judge request timed out after {settings.timeout_s:g}s ({retries} retries)"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the judge endpoint ({retries} retries)"
    if isinstance(exc, openai.APIStatusError):
        detail = shorten(error_message(exc.body) or exc.__class__.__name__)
        return f"judge endpoint answered HTTP {exc.status_code}: {detail}"
    return f"judge request failed: {exc.__class__.__name__}"
