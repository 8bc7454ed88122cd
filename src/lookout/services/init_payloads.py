"""The prompt and the answer inside a provider's raw request and response JSON, for `lookout
init` (pure).

A gateway log (Helicone, OpenRouter, a team's own proxy) keeps each call's request and response
bodies whole: `{"model": ..., "messages": [...]}` and `{"choices": [{"message": {"content":
...}}], "usage": ...}`. Mapped as they are, the input and the output are JSON documents, and
every evaluator judges braces and keys. `payload_text` finds where the text is in the sampled
documents (the last message of a chat request, whatever the conversation's length; the first
choice's message of an OpenAI response; Anthropic's, Gemini's and LangChain's shapes), so init
proposes `json_fields: {prompt: request_body.messages[-1].content}` instead. A sampled value is
cut at `TEXT_CHARS`: a document that no longer parses is judged by the keys its start holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lookout.model.json_path import JsonStep

__all__ = ["MIN_DOCUMENTS", "at_path", "json_object", "payload_text", "texts_at"]

MIN_DOCUMENTS = 10  # JSON documents a column needs for a verdict
TEXT_SHARE = 0.5  # of the parsed documents on which the path must hold text (errors have none)
_Path = tuple[JsonStep, ...]
# (path, role, what the start of a cut document must hold for it), the likeliest first
_SHAPES: tuple[tuple[_Path, str, tuple[str, ...]], ...] = (
    (("messages", -1, "content"), "prompt", ("messages", "role")),  # OpenAI, Anthropic
    (("contents", -1, "parts", 0, "text"), "prompt", ("contents", "parts")),  # Gemini
    (("choices", 0, "message", "content"), "answer", ("choices", "message")),  # OpenAI chat
    (("choices", 0, "text"), "answer", ("choices", "text")),  # OpenAI completions
    (("content", 0, "text"), "answer", ("content", "text")),  # Anthropic messages
    (("candidates", 0, "content", "parts", 0, "text"), "answer", ("candidates", "parts")),
    (("generations", 0, 0, "text"), "answer", ("generations", "text")),  # LangChain LLMResult
    (("generations", 0, "text"), "answer", ("generations", "text")),
)
_KEY = '"{}"\\s*:'


def payload_text(values: Sequence[Any]) -> tuple[_Path, str] | None:
    """(path to the text, `prompt` or `answer`) when `values` (a column's sampled values:
    dicts, or JSON text possibly cut) are requests or responses of one of the known shapes;
    None otherwise."""
    docs = [v for v in values if v is not None]
    if len(docs) < MIN_DOCUMENTS:
        return None
    parsed = [p for p in (json_object(v) for v in docs) if p is not None]
    for path, role, _ in _SHAPES:
        if len(parsed) >= MIN_DOCUMENTS:
            held = sum(isinstance(at_path(doc, path), str) for doc in parsed)
            if held >= TEXT_SHARE * len(parsed):
                return path, role
    cut = [v for v in docs if isinstance(v, str) and v.lstrip().startswith("{")]
    if len(parsed) >= MIN_DOCUMENTS or len(cut) < TEXT_SHARE * len(docs):
        return None
    for path, role, keys in _SHAPES:  # the documents do not parse whole: their starts say
        patterns = [re.compile(_KEY.format(k)) for k in keys]
        if sum(all(p.search(v) for p in patterns) for v in cut) >= TEXT_SHARE * len(cut):
            return path, role
    return None


def texts_at(values: pd.Series, path: _Path) -> pd.Series:
    """The text at `path` of each sampled document, as the warehouse will read it (a cut
    document that does not parse: its start, for the profile of a long text)."""
    out = []
    for value in values.to_numpy(dtype=object):
        doc = json_object(value)
        found = at_path(doc, path) if doc is not None else None
        out.append(found if isinstance(found, str) else value if isinstance(value, str) else None)
    return pd.Series(out, dtype=object)


def json_object(value: Any, *, numbers_as_text: bool = False) -> dict[str, Any] | None:
    """A JSON object from a driver's dict or from text (numbers kept as written with
    `numbers_as_text`, as a warehouse's extraction reads them), else None."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    options = {"parse_float": str, "parse_int": str} if numbers_as_text else {}
    try:
        found = json.loads(value, **options)
    except ValueError:  # not JSON, or cut at the sample's TEXT_CHARS
        return None
    return found if isinstance(found, dict) else None


def at_path(doc: Any, path: _Path) -> Any:
    """The value at `path` (an index from the end counts back), None where it stops."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(doc, list) or not -len(doc) <= step < len(doc):
                return None
            doc = doc[step]
        elif isinstance(doc, dict):
            doc = doc.get(step)
        else:
            return None
    return doc
