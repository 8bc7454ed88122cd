"""The canonical fields a profiled column could be, for `lookout init` (pure).

*Candidates* are the canonical fields a column could be mapped to, each with a score and the
reason a person can check: a known name (the record contract's own, OpenTelemetry GenAI and
OpenInference attribute names, common logging names) scores higher than a guess from values
alone (integer HTTP codes, +1/-1 thumbs). Which candidate wins is `lookout.services.init_mapping`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from lookout.model.record import TEXT_FIELDS, UNIT_WORDS, to_field_unit
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_costs import named_cost_unit
from lookout.services.init_expectations import http_codes
from lookout.services.init_names import NAMES, NOT_TEXT_TAILS, normalized_name

__all__ = ["Candidate", "candidates", "describe"]

# Words that make an id column some other id than the record's own.
ROUTE_VALUES = 50  # distinct integers a route may hold (route ids), more: a measure
_MEASURE_TAILS = frozenset(
    {"ms", "us", "ns", "s", "sec", "secs", "seconds", "millis", "count", "counts", "pct",
     "percent", "ratio", "bytes", "kb", "mb", "tokens", "usd", "cents", "amount", "size", "len"}
)  # fmt: skip

# words of a time or a measure: a unique integer so named is a time in nanoseconds, not an id
_MEASURE_WORDS = frozenset(
    {"time", "timestamp", "ts", "nano", "nanos", "unix", "epoch", "date", "duration", "latency"}
)
_OTHER_IDS = frozenset(
    {"trace", "session", "conversation", "thread", "parent", "tenant", "user", "customer",
     "org", "account", "model", "prompt", "span", "chat", "team", "project", "workspace"}
)  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """`column` could be mapped to `field`: how sure (`score`) and why."""

    field: str
    column: str
    score: int
    reason: str


_STEP_ROWS = 50  # sampled values past which a step index that never repeats is none
NAMED_EXACTLY = 11  # the column's name is the field's own (`prompt_version` before `version`)
NAMED = 10  # the column's name says it
NAMED_LOOSELY = 7  # the name starts or ends with such a name (`response_latency_ms`)
BY_VALUES = 5  # values that can only mean this (HTTP codes, +1/-1)
GUESSED = 2  # values that fit, nothing more
# What a value inside JSON cannot be: it is read as text (`source.json_fields`).
_NOT_FROM_JSON = frozenset({"ts", "ingested_at", "is_fallback"})


def _name_hit(field: str, name: str) -> tuple[int, str] | None:
    """How `name` names `field`: exactly, or by a known name at its start or end. A loose hit
    on a text field does not count when the name ends like a property of a text
    (`prompt_rev` is no prompt text, `answer_len` no answer)."""
    table = NAMES[field]
    if name in table:
        return (NAMED_EXACTLY if name == field else NAMED), table[name]
    if field in TEXT_FIELDS and name.split("_")[-1] in NOT_TEXT_TAILS:
        return None
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
    if field == "route":  # a label: an integer of many values, or named in a unit, is a measure
        measure = normalized_name(p.name).split("_")[-1] in _MEASURE_TAILS  # feature_store_ms
        labels = p.is_text or (kind == "integer" and p.distinct <= ROUTE_VALUES and not measure)
        return labels and not p.is_long_text and not p.is_time
    if field in ("model_version", "prompt_version"):
        return (p.is_text or kind == "integer") and not p.is_long_text and not p.is_time
    if field in ("status", "feedback"):
        return (p.is_text and not p.is_long_text and p.distinct <= 50) or kind in (
            "integer",
            "boolean",
        )
    if field in ("trace_id", "span_id", "parent_span_id"):
        return kind in ("integer", "text", "other") and not p.is_long_text
    if field == "step":  # a step's index repeats across traces: a unique `turn_id` is an id
        repeats = not (p.unique and p.non_null >= _STEP_ROWS)
        return kind in ("integer", "text", "other") and not p.is_long_text and repeats
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
    if p.info.path is not None:
        found = [c for c in found if c.field not in _NOT_FROM_JSON]
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
        numbers = f"numbers {_number(p.minimum)} to {_number(p.maximum)}"
        unit = named_cost_unit(p.name) if field == "cost_usd" else None
        if unit is None or p.minimum is None or p.maximum is None:
            return numbers
        low, high = (to_field_unit(v, unit) for v in (p.minimum, p.maximum))
        return f"{numbers} {UNIT_WORDS[unit]} (${low:.6g} to ${high:.6g})"
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
    if kind != "integer" and "status" not in named and http_codes(p) == "text":
        out.append(Candidate("status", p.name, BY_VALUES, f"HTTP codes as text ({p.shown(6)})"))
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
        measure = tokens & _MEASURE_WORDS  # `StartTimeUnixNano`: unique, and no id
        if not p.is_long_text and not p.is_time and not tokens & _OTHER_IDS and not measure:
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
