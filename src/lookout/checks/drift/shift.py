"""Which way a drifted column moved, in the words on-call reads first (pure).

An effect size says how far a column moved, not where: "wasserstein 0.42" does not tell whether
prompts got longer or shorter, nor which answer language took over. This names it: the median
and the 90th percentile of a number (`median 412 -> 1,030, p90 905 -> 2,410`), and for a category
or a number of few values, the value whose share moved most (`"es" 3% -> 41%`).
"""

from __future__ import annotations

from collections.abc import Mapping

from lookout.core.sketch import ALPHA, Sketch

__all__ = ["MAX_VALUE_CHARS", "shift_of"]

# A category value is logged data: it is clipped so a long one cannot fill a Slack line.
MAX_VALUE_CHARS = 40


def shift_of(
    reference: Sketch | Mapping[str, float] | None,
    current: Sketch | Mapping[str, float],
    *,
    few: bool = False,
) -> str | None:
    """`median A -> B, p90 C -> D` for a number, `"value" a% -> b%` for a category (or a
    number of `few` values); None when a side is empty."""
    if reference is None:
        return None
    if isinstance(reference, Sketch) and isinstance(current, Sketch):
        if few:
            return _top_share(_shares_of(reference), _shares_of(current), numeric=True)
        return _quantiles(reference, current)
    if isinstance(reference, Sketch) or isinstance(current, Sketch):
        return None
    return _top_share(_normed(reference), _normed(current), numeric=False)


def _quantiles(reference: Sketch, current: Sketch) -> str | None:
    parts = []
    for label, q in (("median", 0.5), ("p90", 0.9)):
        before, after = reference.quantile(q), current.quantile(q)
        if before is None or after is None:
            return None
        parts.append(f"{label} {_number(before)} -> {_number(after)}")
    return ", ".join(parts)


def _shares_of(sketch: Sketch) -> dict[str, float]:
    values, counts = sketch.arrays()
    total = float(counts.sum())
    if total <= 0:
        return {}
    return {_number(float(v)): float(c) / total for v, c in zip(values, counts, strict=True)}


def _normed(counts: Mapping[str, float]) -> dict[str, float]:
    total = float(sum(counts.values()))
    if total <= 0:
        return {}
    return {str(k): float(v) / total for k, v in counts.items()}


def _top_share(before: dict[str, float], after: dict[str, float], *, numeric: bool) -> str | None:
    """The value whose share changed most (ties: the one that grew, a flag's `1 2% -> 40%`
    rather than its `0 98% -> 60%`; then the larger share now, then the name)."""
    if not before or not after:
        return None

    def moved(v: str) -> tuple[float, bool, float, str]:
        was, now = before.get(v, 0.0), after.get(v, 0.0)
        return round(abs(now - was), 12), now > was, now, v

    value = max(set(before) | set(after), key=moved)
    shown = value if numeric else f'"{_clip(value)}"'
    return f"{shown} {_percent(before.get(value, 0.0))} -> {_percent(after.get(value, 0.0))}"


def _clip(value: str) -> str:
    text = " ".join(value.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _percent(share: float) -> str:
    if 0 < share < 0.01:
        return "<1%"
    if 0.99 < share < 1:
        return ">99%"
    return f"{100 * share:.0f}%"


def _number(value: float) -> str:
    """Three significant digits, thousands separated: 1,030; 2.41; 0.0031. A sketch keeps a
    value to within ALPHA of itself, so one that close to a whole number is that number (a
    flag's 1 is kept as 0.995)."""
    if value != value:  # NaN
        return "nan"
    whole = round(value)
    if whole and abs(whole - value) <= ALPHA * abs(whole) * (1 + 1e-9):
        value = float(whole)
    if abs(value) >= 100:
        return f"{value:,.0f}" if abs(value) < 1e15 else f"{value:.3g}"
    return f"{value:.3g}"
