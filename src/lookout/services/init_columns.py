"""What a column holds, for `lookout init` (pure): its name, its SQL type and its sampled values.

A column's *profile* summarises a sample of its values (nulls, distinct values, numbers, text
lengths, version-like or model-like strings). What fields it could be mapped to, from its name
and these figures, is `lookout.services.init_candidates`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookout.model.aggregates import label_text
from lookout.model.record import IDENTIFIER_PATTERN

__all__ = [
    "TEXT_CHARS",
    "ColumnInfo",
    "ColumnProfile",
    "Kind",
    "column_kind",
    "low_cardinality",
    "profile_column",
    "value_shares",
]

Kind = Literal["integer", "number", "text", "timestamp", "date", "boolean", "other"]

_VERSION = re.compile(r"v?\d+(\.\d+){1,3}([-+._][0-9A-Za-z.]+)?|[0-9a-f]{7,40}", re.IGNORECASE)
_MODEL = re.compile(
    r"(gpt|o\d|claude|llama|meta-llama|mistral|mixtral|gemini|gemma|qwen|command|deepseek|"
    r"phi|text-|davinci|palm|bison|titan|nova|grok|sonnet|haiku|opus)",
    re.IGNORECASE,
)
_TIME_TEXT = re.compile(r"\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
LONG_TEXT = 60  # mean characters above which text is prose, not a label
TEXT_CHARS = 2_000  # text values are sampled cut to this many characters


@dataclass(frozen=True)
class ColumnInfo:
    """One reflected column: its name, its SQL type as the database says, and its kind."""

    name: str
    sql_type: str
    kind: Kind
    timezone: bool = False
    json: bool = False  # a JSON type the database parses (its driver hands back objects)
    path: str | None = None  # a value inside a JSON column (`json_fields`), not a table column

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
    median: float | None = None  # of the numbers
    token_share: float = 0.0  # text values that are one token of ASCII (a key, hash, URL)

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
        median=float(np.median(finite)) if finite.size else None,
        token_share=_share(texts.str.fullmatch(r"[\x21-\x7e]+")) if len(texts) else 0.0,
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
        # Python's float, not pd.to_numeric: pandas 2.3's parser reads leading zeros wrong
        # (`00000000000000000000005` as 0) and crashes the process on some with an exponent
        # (`000000000000000022476491082e6368`, a hex trace id); out of range is no number
        values = text.where(numeric).astype(float).to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isfinite(values), values, np.nan)
    return np.full(len(present), np.nan)


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
