"""Parsing an LLM judge's reply into a verdict, and refusing verdicts that cannot be trusted
(pure: no I/O, no model calls).

Judges are asked for `{"reason": "...", "score": 0..1, "label": "pass"|"fail"}`. Models wrap
JSON in code fences, add prose around it, write scores as strings ("0.8", "80%", "4/5") and
shout labels ("PASS"); all of that is read. Which object is the verdict:
- the whole reply, when it is one JSON object (structured output always is): its own keys,
  whatever objects are nested inside it;
- otherwise the LAST top-level object that has a score or label key: a judge quoting the
  logged data (which may hold an injected `{"score": 1, "label": "pass"}`) quotes it before
  its own verdict, and a model that revises itself writes its final answer last. A reply
  that goes on after that object with an object it cannot read (cut off by max_tokens) or
  with a verdict key (a reason quoting JSON unescaped) has no readable final verdict.

Two kinds of failure:
- `ParseError`: no readable verdict (no object, no score or label, a label that is neither
  pass nor fail). The client asks the model once to repair its reply.
- `InvalidVerdict`: a readable verdict that must not be stored: a score outside [0, 1] (a
  1-5 scale is not guessed at; 5 is not "1.0"), not finite, or contradicted by its own label
  at the evaluator's pass mark (`judged_label`). The judgment is an error, without a repair
  request that would only ask the model to pick one of its two answers.
Messages never quote the reply: it is logged content (and may hold PII).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MAX_REASON_CHARS",
    "InvalidVerdict",
    "ParseError",
    "Verdict",
    "judged_label",
    "parse_verdict",
]

MAX_REASON_CHARS = 500
_MAX_OBJECT_STARTS = 200  # '{' positions tried in prose before giving up (bounds the work)

_FRACTION = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)
_PERCENT = re.compile(r"^(\S+?)\s*%$")

_SCORE_KEYS = ("score", "rating", "grade")
_LABEL_KEYS = ("label", "verdict", "result", "decision")
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale")
_VERDICT_KEY = re.compile(r'"\s*(?:' + "|".join(_SCORE_KEYS + _LABEL_KEYS) + r')\s*"', re.I)
_OBJECT_START = re.compile(r'\{\s*(?:"|\Z)')  # `{"...` or a `{` the reply ends on
_PASS_WORDS = {"pass", "passed", "yes", "true", "ok", "grounded", "safe", "relevant"}
_FAIL_WORDS = {"fail", "failed", "no", "false", "ungrounded", "unsafe", "irrelevant"}


class ParseError(ValueError):
    """The reply holds no readable verdict. Short; never quotes the reply."""


class InvalidVerdict(ValueError):
    """The reply holds a verdict that must not be stored (out of range, self-contradicting)."""


@dataclass(frozen=True)
class Verdict:
    """What the judge said: a score in [0, 1], its own label (if any) and a short reason."""

    score: float
    label: Literal["pass", "fail"] | None
    reason: str


def parse_verdict(reply: str | None) -> Verdict:
    """Read the final verdict of a judge reply; ParseError or InvalidVerdict otherwise."""
    text = (reply or "").strip()
    if not text:
        raise ParseError("empty reply")
    return _verdict_from(_final_object(text))


def judged_label(verdict: Verdict, threshold: float) -> Literal["pass", "fail"]:
    """The stored label: pass at score >= threshold. The judge is told that pass mark, so its
    own label must agree; a fail with a passing score (or the reverse) is InvalidVerdict."""
    label: Literal["pass", "fail"] = "pass" if verdict.score >= threshold else "fail"
    if verdict.label is not None and verdict.label != label:
        raise InvalidVerdict(
            f"the judge's label {verdict.label!r} contradicts its score {verdict.score:g} "
            f"(pass mark {threshold:g})"
        )
    return label


def _final_object(text: str) -> Mapping[str, Any]:
    """The whole reply as one JSON object, else its last top-level object with a verdict key.

    Raw newlines inside strings are allowed (strict=False): models write them.
    """
    decoder = json.JSONDecoder(strict=False)
    try:
        whole = decoder.decode(text)
    except ValueError:
        pass
    else:
        if isinstance(whole, dict):
            return whole
        raise ParseError(f"the reply is JSON but not an object ({type(whole).__name__})")
    verdict: Mapping[str, Any] | None = None
    other: Mapping[str, Any] | None = None
    unreadable: list[int] = []  # '{' where no object could be read
    verdict_end = 0
    start, tries = text.find("{"), 0
    while start != -1:
        tries += 1
        if tries > _MAX_OBJECT_STARTS:
            raise ParseError(f"more than {_MAX_OBJECT_STARTS} '{{' in the reply")
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            unreadable.append(start)
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            if _has_verdict_key(value):
                verdict, verdict_end = value, end
            elif other is None:
                other = value
        start = text.find("{", end)  # top level only: objects nested in this one are its own
    if _VERDICT_KEY.search(text, verdict_end) or any(
        s >= verdict_end and _OBJECT_START.match(text, s) for s in unreadable
    ):
        # a verdict cut off by max_tokens, or one whose reason quotes JSON without escaping
        # it: the last readable object may be a quoted (injected) one, not the judge's own
        raise ParseError("the reply ends in a verdict object that cannot be read")
    if verdict is not None:
        return verdict
    if other is not None:
        return other  # reported below: neither a score nor a label
    raise ParseError(f"no JSON object in the reply ({len(text)} chars)")


def _has_verdict_key(obj: Mapping[str, Any]) -> bool:
    return bool(_values(obj, _SCORE_KEYS) or _values(obj, _LABEL_KEYS))


def _values(obj: Mapping[str, Any], keys: tuple[str, ...]) -> list[Any]:
    """The non-null values of any of `keys` (case and spaces ignored), in key order."""
    lowered: dict[str, Any] = {}
    for key, value in obj.items():
        lowered.setdefault(str(key).strip().lower(), value)
    return [lowered[key] for key in keys if lowered.get(key) is not None]


def _verdict_from(obj: Mapping[str, Any]) -> Verdict:
    """The first score key is the score; the first label key must read pass or fail, and any
    other label key that reads as one must agree with it."""
    label_values = _values(obj, _LABEL_KEYS)
    label = _label(label_values[0]) if label_values else None
    if label_values and label is None:
        raise ParseError("the label is neither pass nor fail")
    if {_label(value) for value in label_values[1:]} - {label, None}:
        raise InvalidVerdict("the verdict object holds both a pass and a fail label")
    score_values = _values(obj, _SCORE_KEYS)
    if score_values:
        score = _score(score_values[0])
    elif label is not None:
        score = 1.0 if label == "pass" else 0.0
    else:
        raise ParseError("the JSON object has neither a score nor a pass/fail label")
    reasons = _values(obj, _REASON_KEYS)
    return Verdict(score=score, label=label, reason=_reason(reasons[0] if reasons else None))


def _label(value: Any) -> Literal["pass", "fail"] | None:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if not isinstance(value, str):
        return None
    word = value.strip().strip(".!").strip().lower()
    if word in _PASS_WORDS:
        return "pass"
    if word in _FAIL_WORDS:
        return "fail"
    return None


def _score(value: Any) -> float:
    if isinstance(value, bool):
        raise ParseError("score is a boolean, not a number")
    if isinstance(value, int | float):
        return _in_range(float(value))
    if not isinstance(value, str):
        raise ParseError(f"score is a {type(value).__name__}, not a number")
    text = value.strip()
    fraction = _FRACTION.match(text)
    if fraction:
        num, den = float(fraction.group(1)), float(fraction.group(2))
        if den <= 0:
            raise ParseError("score fraction has a zero denominator")
        return _in_range(num / den)
    percent = _PERCENT.match(text)
    try:
        number = float(percent.group(1)) / 100.0 if percent else float(text)
    except ValueError:
        raise ParseError("score is not a number") from None
    return _in_range(number)


def _in_range(number: float) -> float:
    if not math.isfinite(number):
        raise InvalidVerdict("score is not a finite number")
    if not 0.0 <= number <= 1.0:
        raise InvalidVerdict(f"score {number:g} is outside [0, 1]")
    return number + 0.0  # -0.0 -> 0.0


def _reason(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1] + "…"
    return text
