"""What a judge client sends: the chat request, the verdict's JSON schema, the repair prompt.

Pure: the request body is built from the settings and the messages; sending it is the
client's job (`judge_client`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lookout.checks.evaluators.judge_settings import JudgeSettings

__all__ = [
    "REPAIR_PROMPT",
    "RESPONSE_FORMAT",
    "VERDICT_SCHEMA",
    "Message",
    "chat_request",
    "repair_messages",
]

Message = Mapping[str, str]

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string"},
        "score": {"type": "number"},
        "label": {"type": "string", "enum": ["pass", "fail"]},
    },
    "required": ["reason", "score", "label"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "judge_verdict", "strict": True, "schema": VERDICT_SCHEMA},
}
REPAIR_PROMPT = (
    "Your previous reply could not be read ({problem}). Reply again with only the JSON object "
    '{{"reason": "...", "score": <number from 0 to 1>, "label": "pass" or "fail"}} '
    "and nothing else."
)


def chat_request(settings: JudgeSettings, messages: Sequence[Message]) -> dict[str, Any]:
    """The chat-completions body in plain prompting (the client adds `response_format`)."""
    request: dict[str, Any] = {"model": settings.model, "messages": list(messages)}
    if settings.temperature is not None:
        request["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        request["max_tokens"] = settings.max_tokens
    return request


def repair_messages(
    messages: Sequence[Message], content: str | None, problem: object
) -> list[Message]:
    """The conversation that sends an unreadable reply back and asks for the JSON only."""
    return [
        *messages,
        {"role": "assistant", "content": content or ""},
        {"role": "user", "content": REPAIR_PROMPT.format(problem=problem)},
    ]
