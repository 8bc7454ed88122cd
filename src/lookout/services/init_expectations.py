"""What the status and feedback values mean, and the expectations to check, for `lookout init`.

Pure: which statuses are ok (2xx HTTP codes, as integers or text like '200', 0 for gRPC-style
codes when most are 0, ok words; a warning naming the column and its values when they do not
tell, since the default then makes every record an error) and which feedback is negative (-1
thumbs, 0 of 0/1, 1-2 of a 1-5 rating, negative words, the midpoint of a scale of scores, a
note when the values do not tell);
and the expectation suite written
out, with checks of coded columns (feedback: the codes the sample holds);
`lookout.services.init_selfcheck` then leaves out any the sample itself fails.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lookout.model.record import TEXT_FIELDS
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import LEVEL_NAMES, SUCCESS_FLAGS, normalized_name

__all__ = [
    "HTTP_OK",
    "feedback_values",
    "http_codes",
    "negative_feedback",
    "ok_reason",
    "ok_statuses",
    "propose_expectations",
    "score_floor",
    "status_groups",
    "unknown_statuses",
]

_OK_WORDS = frozenset(
    {"ok", "success", "succeeded", "successful", "completed", "complete", "done", "pass",
     "passed", "unset", "status_code_ok", "status_code_unset", "true", "finished", "stop"}
)  # fmt: skip
_NEGATIVE_WORDS = frozenset(
    {"thumbs_down", "thumbsdown", "thumb_down", "down", "negative", "bad", "dislike", "-1",
     "no", "unhelpful", "not_helpful", "false", "0", "👎", "poor", "wrong"}
)  # fmt: skip
HTTP_OK = tuple(str(code) for code in range(200, 207))
_HTTP_TEXT = re.compile(r"[1-5][0-9]{2}")
MIN_FEEDBACK = 30  # feedback values the sample needs before its set of codes is taken as all
MAX_FEEDBACK_CODES = 10  # more distinct values than this are not a code set


def http_codes(p: ColumnProfile) -> str | None:
    """`integer` or `text` when the column holds HTTP status codes, else None: integers from
    100 to 599, or text only when every sampled value is such a code (`'200'` logged as
    TEXT). Larger integers (an application's own codes, 1000-1002) are not HTTP."""
    low, high = p.minimum, p.maximum
    if (
        p.info.kind == "integer"
        and low is not None
        and high is not None
        and 100 <= low <= high < 600
    ):
        return "integer"
    labels = [value.strip() for value, _ in p.top]
    whole = p.non_null > 0 and p.distinct == len(labels)  # `top` holds every value
    if p.is_text and whole and all(_HTTP_TEXT.fullmatch(label) for label in labels):
        return "text"
    return None


def ok_statuses(p: ColumnProfile) -> tuple[str, ...] | None:
    """2xx for HTTP codes (integers, or text like '200'), 0 for gRPC-style codes, ok words
    for text; None: cannot tell (`unknown_statuses` says so). A guess that leaves no sampled
    value ok, or makes the most frequent one an error (0 in a column mostly 1), is none."""
    codes = http_codes(p)
    if codes == "integer":
        seen = {str(int(v)) for v in p.values if 200 <= v < 300}
        ok = tuple(sorted(set(HTTP_OK) | seen, key=int))
    elif codes == "text":  # as the column spells them, so they match text
        seen = {value.strip() for value, _ in p.top if value.strip().startswith("2")}
        ok = tuple(sorted(set(HTTP_OK) | seen, key=int))
    elif otel_codes(p):
        return ("0", "1")
    elif _success_flag(p):
        return ("1",)
    elif p.info.kind == "integer" and p.values and 0.0 in p.values:
        zero_first = bool(p.top) and float(p.top[0][0]) == 0.0
        return ("0",) if zero_first else None
    else:
        ok = tuple(value for value, _ in p.top if value.strip().lower() in _OK_WORDS)
    sampled = {value.strip() for value, _ in p.top}
    return ok if sampled & set(ok) else None


_OTEL_STATUS_NAMES = frozenset({"status_code", "otel_status_code", "span_status_code"})


def _success_flag(p: ColumnProfile) -> bool:
    """A flag that says the request succeeded (`ok TINYINT(1)`, `success BOOLEAN`): 1 is ok."""
    named = normalized_name(p.name) in SUCCESS_FLAGS
    flags = p.info.kind == "boolean" or (p.is_number and p.values <= {0.0, 1.0})
    return named and flags and bool(p.values or p.info.kind == "boolean")


def otel_codes(p: ColumnProfile) -> bool:
    """An OpenTelemetry span's status code (`StatusCode`: 0 unset, 1 ok, 2 error), by its
    name and its values; not gRPC's (0 ok, 1 cancelled, 2 unknown), named so."""
    return (
        p.info.kind == "integer"
        and normalized_name(p.name) in _OTEL_STATUS_NAMES
        and bool(p.values)
        and p.values <= {0.0, 1.0, 2.0}
    )


def fallback_statuses(p: ColumnProfile) -> tuple[str, ...]:
    """Text status values that say a fallback answered (`FALLBACK_RULES`, `fallback_cache`):
    no errors, and what the fallback rate counts (`source.fallback_statuses`)."""
    if p.info.kind not in ("text", "other"):
        return ()
    return tuple(value for value, _ in p.top if "fallback" in value.lower())


# Status values on-call watches apart from the error rate, each group by its words and HTTP codes
_STATUS_GROUPS = (
    ("rate_limited", re.compile(r"rate.?limit|throttl|quota|too.?many", re.I), (429,)),
    ("timeouts", re.compile(r"time.?out|deadline", re.I), (408, 504)),
    ("blocked", re.compile(r"guardrail|block|content.?filter|refus|moderat", re.I), ()),
)


def status_groups(p: ColumnProfile, ok: tuple[str, ...] | None) -> dict[str, list[str] | list[int]]:
    """The sample's status values of a kind with a rate of its own (`source.status_rates`): a
    quota's 429, a timeout, a guardrail's block, each named by its words or HTTP codes and
    typed as the column (integers for an integer column). Ok values are left out."""
    ok_values = {value.lower() for value in ok or ()}
    integral = p.info.kind == "integer"
    seen = [value.strip() for value, _ in p.top if value.strip().lower() not in ok_values]
    out: dict[str, list[str] | list[int]] = {}
    for name, words, codes in _STATUS_GROUPS:
        if integral:
            found: list[str] | list[int] = [
                int(v) for v in seen if v.lstrip("-").isdigit() and int(v) in codes
            ]
        else:
            found = [v for v in seen if words.search(v) or (v.isdigit() and int(v) in codes)]
        if found:
            out[name] = found
    return out


def unknown_statuses(p: ColumnProfile) -> str:
    """What init says, in its output and above `ok_statuses` in monitors.yml, when it cannot
    tell which status values are ok: the column, the values it saw, the key to set, and what
    the default does meanwhile."""
    seen = ", ".join(f"{_clipped(value)} ({count / p.non_null:.0%})" for value, count in p.top[:6])
    more = f" and {p.distinct - 6} more" if p.distinct > 6 else ""
    if p.info.kind in ("integer", "number"):
        meanwhile = (
            "the default (ok, success) is no value of this numeric column, so "
            "validate-config and every run refuse it"
        )
    else:
        meanwhile = "every record counts as an error (error_rate 100%)"
    example = _clipped(p.top[0][0]) if p.top else "ok"
    shown = example if p.info.kind in ("integer", "number") else json.dumps(example)
    return (
        f"init cannot tell which values of {p.name} (the status column) mean ok; the sample "
        f"holds {seen or 'no value'}{more}. List those that mean ok in source.ok_statuses in "
        f"monitors.yml (e.g. ok_statuses: [{shown}] if {example} means success); until then "
        f"{meanwhile}, and no error_rate rule is proposed"
    )


def _clipped(value: str) -> str:
    text = " ".join(value.split())
    return text if len(text) <= 24 else text[:23] + "…"


def ok_reason(p: ColumnProfile | None, ok: tuple[str, ...] | None) -> str:
    """Why `ok_statuses` holds what it does, for its comment in monitors.yml."""
    codes = http_codes(p) if p is not None and ok else None
    if codes == "integer":
        return "integer HTTP codes: 2xx are ok"
    if codes == "text":
        return "HTTP codes as text: 2xx are ok"
    if p is not None and ok and otel_codes(p):
        return "OpenTelemetry status codes: 0 unset and 1 ok, 2 error (gRPC codes: set [0])"
    if p is not None and ok and normalized_name(p.name) in LEVEL_NAMES:
        return "log levels short of an error"
    return "status values that are not errors"


def negative_feedback(
    p: ColumnProfile, notes: list[str]
) -> tuple[tuple[str, ...] | None, float | None]:
    """(the values that count as negative, or the score under which one does): -1 for thumbs,
    0 for 0/1, 1-2 of a 1-5 rating, negative words of text; the midpoint of a scale of scores
    (0-1 grades, a 1-10 rating) that are no such codes (`negative_feedback_below`)."""
    values = p.values
    if p.info.kind == "boolean":
        return ("false", "0"), None
    if p.is_number and values:
        if -1.0 in values:
            return ("-1",), None
        if values <= {0.0, 1.0}:
            return ("0",), None
        if values <= {1.0, 2.0, 3.0, 4.0, 5.0}:
            return ("1", "2"), None
    if (floor := score_floor(p)) is not None:
        return None, floor
    negative = tuple(
        value.lower() for value, _ in p.top if value.strip().lower() in _NEGATIVE_WORDS
    )
    if negative:
        return negative, None
    notes.append(
        f"feedback {p.name}: none of its values ({p.shown(5)}) reads as negative; set "
        "negative_feedback (no negative_feedback_rate rule until then)"
    )
    return None, None


def score_floor(p: ColumnProfile) -> float | None:
    """The midpoint of the scale a numeric feedback column's scores are on (0-1, 0/1-5,
    0/1-10, 0/1-100: the smallest that holds them), under which a score is negative; None
    for text, for negative numbers and for numbers past 100 (no scale init can tell)."""
    if p.info.kind not in ("integer", "number") or p.minimum is None or p.maximum is None:
        return None
    low = 0.0 if p.minimum < 1 else 1.0
    high = next((top for top in (1.0, 5.0, 10.0, 100.0) if p.maximum <= top), None)
    if p.minimum < 0 or high is None or high <= low:
        return None
    return (low + high) / 2


def feedback_values(p: ColumnProfile) -> list[int] | list[str] | None:
    """The coded feedback values the sample holds, sorted and typed as the column (integers
    or text): an `in_set` of them fits the sample by construction, where a fixed set (-1, 1)
    failed every window with a 0. None when the sample cannot tell the set: too few values
    to have seen each, too many to be codes, or a type without codes."""
    if p.non_null < MIN_FEEDBACK or not 1 <= p.distinct <= MAX_FEEDBACK_CODES:
        return None
    if p.info.kind == "integer" and p.integral and p.values:
        return sorted(int(v) for v in p.values)
    if p.is_text and not p.is_long_text:
        return sorted(value for value, _ in p.top)
    return None


def propose_expectations(
    mapping: dict[str, str],
    release: tuple[str, ...],
    by_name: dict[str, ColumnProfile],
    negative: tuple[str, ...] | None,
    notes: list[str],
) -> tuple[dict[str, Any], ...]:
    """The contract suite written out (so it can be edited), plus checks of coded columns."""
    from lookout.config.validation import default_suite

    suite = [
        spec.model_dump(exclude_defaults=True, exclude_none=True)
        for spec in default_suite(set(mapping), list(release), None)
    ]
    status = by_name.get(mapping.get("status", ""))
    if status is not None and http_codes(status) == "integer":
        suite.append({"kind": "between", "column": "status", "min": 100, "max": 599})
    feedback = by_name.get(mapping.get("feedback", ""))
    seen = feedback_values(feedback) if feedback is not None and negative else None
    if seen:
        suite.append({"kind": "in_set", "column": "feedback", "values": seen})
    for text in TEXT_FIELDS & {"tool_calls"} & set(mapping):
        if _json_typed(by_name.get(mapping[text]), text, notes):
            continue
        suite.append({"kind": "json_parses", "column": text, "mostly": 0.99})
    return tuple(suite)


def _json_typed(p: ColumnProfile | None, field: str, notes: list[str]) -> bool:
    """A JSON-typed column (PostgreSQL's JSON, JSONB) holds only JSON the database parsed: a
    json_parses check of it could never fail (validation reads the driver's lists and dicts
    as the JSON they are), so none is proposed, said in a note."""
    if p is None or not p.info.json:
        return False
    notes.append(
        f"{field} {p.name} is {p.info.sql_type}: the database parses it, so no json_parses check"
    )
    return True
