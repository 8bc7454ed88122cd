"""Tolerant parsing of an LLM judge's reply into a verdict (pure: no I/O, no model calls).

Judges are asked for `{"reason": "...", "score": 0..1, "label": "pass"|"fail"}`, but models wrap
JSON in code fences, add prose around it, write scores as strings ("0.8", "80%", "4/5") or on a
1-5 scale, and shout labels ("PASS"). This module accepts all of that and rejects anything it
cannot read with a short `ParseError` (the caller then asks the model once to repair its reply).

Score scales, in order:
- a fraction "a/b" or "a out of b" -> a / b; a percentage "80%" -> 0.8;
- a number in [0, 1] -> as is, except 1 with label "fail" (a 1-5 scale's worst) -> 0.0;
- a number in (1, 5] -> 1-5 scale mapped linearly: (x - 1) / 4;
- anything else (negative, > 5, NaN) -> ParseError.
A label without a score gives 1.0 (pass) or 0.0 (fail). Error messages never quote the reply:
it is logged content (and may hold PII), so they name only what was wrong and its length.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["MAX_REASON_CHARS", "ParseError", "Verdict", "parse_verdict"]

MAX_REASON_CHARS = 500
_MAX_OBJECT_STARTS = 50  # '{' positions tried in prose before giving up (bounds the work)

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_FRACTION = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)
_PERCENT = re.compile(r"^(-?\d+(?:\.\d+)?)\s*%$")

_SCORE_KEYS = ("score", "rating", "grade")
_LABEL_KEYS = ("label", "verdict", "result", "decision")
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale")
_PASS_WORDS = {"pass", "passed", "yes", "true", "ok", "grounded", "safe", "relevant"}
_FAIL_WORDS = {"fail", "failed", "no", "false", "ungrounded", "unsafe", "irrelevant"}


class ParseError(ValueError):
    """The reply holds no usable verdict. The message is short and never quotes the reply."""


@dataclass(frozen=True)
class Verdict:
    """What the judge said: a score in [0, 1], its own label (if any) and a short reason."""

    score: float
    label: Literal["pass", "fail"] | None
    reason: str


def parse_verdict(reply: str | None) -> Verdict:
    """Read a verdict from a judge reply, or raise ParseError."""
    text = (reply or "").strip()
    if not text:
        raise ParseError("empty reply")
    obj = _find_object(text)
    if obj is None:
        raise ParseError(f"no JSON object in the reply ({len(text)} chars)")
    return _verdict_from(obj)


def _find_object(text: str) -> Mapping[str, Any] | None:
    """The verdict object: the whole text, then fenced blocks, then each {...} in prose.

    The first object that has a score or label key wins (so a nested or earlier unrelated
    object does not hide the verdict); failing that, the first object found. Raw newlines
    inside strings are allowed (strict=False): models write them.
    """
    decoder = json.JSONDecoder(strict=False)
    first: Mapping[str, Any] | None = None
    for value in _objects(text, decoder):
        if _pick(value, _SCORE_KEYS + _LABEL_KEYS) is not None:
            return value
        first = first if first is not None else value
    return first


def _objects(text: str, decoder: json.JSONDecoder) -> Iterator[Mapping[str, Any]]:
    for candidate in _candidates(text):
        try:
            value = decoder.decode(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_OBJECT_STARTS:
        tries += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            yield value
        start = text.find("{", start + 1)


def _candidates(text: str) -> Iterator[str]:
    yield text
    for match in _FENCE.finditer(text):
        yield match.group(1).strip()


def _pick(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for key in keys:
        if key in lowered and lowered[key] is not None:
            return lowered[key]
    return None


def _verdict_from(obj: Mapping[str, Any]) -> Verdict:
    label = _label(_pick(obj, _LABEL_KEYS))
    raw_score = _pick(obj, _SCORE_KEYS)
    if raw_score is None:
        if label is None:
            raise ParseError("the JSON object has neither a score nor a pass/fail label")
        score = 1.0 if label == "pass" else 0.0
    else:
        score = _score(raw_score, label)
    return Verdict(score=score, label=label, reason=_reason(_pick(obj, _REASON_KEYS)))


def _label(value: Any) -> Literal["pass", "fail"] | None:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if not isinstance(value, str):
        return None
    word = value.strip().strip(".!").lower()
    if word in _PASS_WORDS:
        return "pass"
    if word in _FAIL_WORDS:
        return "fail"
    return None


def _score(value: Any, label: str | None) -> float:
    if isinstance(value, bool):
        raise ParseError("score is a boolean, not a number")
    if isinstance(value, int | float):
        return _scale(float(value), label)
    if not isinstance(value, str):
        raise ParseError(f"score is a {type(value).__name__}, not a number")
    text = value.strip()
    fraction = _FRACTION.match(text)
    if fraction:
        num, den = float(fraction.group(1)), float(fraction.group(2))
        if den <= 0:
            raise ParseError("score fraction has a zero denominator")
        return _clamp_checked(num / den)
    percent = _PERCENT.match(text)
    if percent:
        return _clamp_checked(float(percent.group(1)) / 100.0)
    try:
        number = float(text)
    except ValueError:
        raise ParseError("score is not a number") from None
    return _scale(number, label)


def _scale(number: float, label: str | None) -> float:
    if not math.isfinite(number):
        raise ParseError("score is not a finite number")
    if 0.0 <= number <= 1.0:
        if number == 1.0 and label == "fail":
            return 0.0  # "1" with a fail label is the bottom of a 1-5 scale
        return number
    if 1.0 < number <= 5.0:
        return (number - 1.0) / 4.0
    raise ParseError(f"score {number:g} is outside 0..1 and 1..5")


def _clamp_checked(value: float) -> float:
    """Fractions and percentages: tolerate rounding just outside [0, 1], reject the rest."""
    if not math.isfinite(value) or value < -0.01 or value > 1.01:
        raise ParseError("score fraction is outside 0..1")
    return min(1.0, max(0.0, value))


def _reason(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1] + "…"
    return text
