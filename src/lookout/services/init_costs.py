"""The unit of the cost column, for `lookout init` (pure).

`cost_usd` is read in US dollars everywhere (metrics, thresholds, results), but tables log cost
in cents (Anthropic's cost report), micro-dollars (integer ledgers: `cost_micro_usd BIGINT`) or
nano-dollars (Helicone). A name that says the unit (`cost_micro_usd`, `usd_micros`,
`cost_cents`) gets it in `source.units`, so the warehouse divides in SQL and init sizes its rules
on the sample in dollars. A name that says nothing is never given a unit by guess: values that
cannot be dollars a request get a note naming the column, its median and the key to set.
"""

from __future__ import annotations

from lookout.model.record import UNIT_WORDS, to_field_unit, unit_factor
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import normalized_name

__all__ = ["IMPLAUSIBLE_USD", "cost_unit", "named_cost_unit"]

# The words of a cost column's name that say its unit (`cost_micro_usd`, `usd_micros`).
_NAMED_UNITS = {
    "micro_usd": frozenset({"micro", "micros", "microusd", "microdollar", "microdollars"}),
    "nano_usd": frozenset({"nano", "nanos", "nanousd", "nanodollar", "nanodollars"}),
    "cents": frozenset({"cent", "cents"}),
}
# A median cost per record above which values are not US dollars. A chat call costs $0.0001 to
# $0.05 and a long-context call on a frontier model a few dollars, so the typical record of a
# table is well under $1. Dollars logged as whole numbers would round most calls to $0: whole
# numbers with a median above 1 are cents, micro- or nano-dollars. Fractional values are read
# as dollars up to a median of $100 a record (a whole agent run can cost a few dollars).
IMPLAUSIBLE_USD = {"whole": 1.0, "fractional": 100.0}


def cost_unit(column: str, p: ColumnProfile, notes: list[str]) -> str | None:
    """The unit the cost column logs when its name says it is not dollars (`micro_usd`,
    `nano_usd`, `cents`), with a note saying so; None when it logs dollars, or when only its
    values say it does not (a note then names the median and the `units:` key to set)."""
    unit = named_cost_unit(column)
    if unit is None:
        _implausible_dollars(column, p, notes)
        return None
    divisor = unit_factor(unit)[1]
    if p.info.kind not in ("integer", "number"):
        notes.append(
            f"{column} is named in {UNIT_WORDS[unit]}, but holds text: a unit converts only a "
            f"numeric column, so cost_usd would be {divisor}x off; log US dollars, or map a "
            "view that casts it"
        )
        return None
    notes.append(
        f"{column} is named in {UNIT_WORDS[unit]}: `units: {{cost_usd: {unit}}}` reads it in US "
        f"dollars (/ {divisor}, in the warehouse), so cost metrics, thresholds and results are "
        "in USD; if it logs dollars, remove cost_usd from units"
    )
    return unit


def named_cost_unit(column: str) -> str | None:
    """The cost unit a column's name says (`cost_micro_usd`, `usd_micros`: micro_usd), or None."""
    words = set(normalized_name(column).split("_"))
    return next((unit for unit, named in _NAMED_UNITS.items() if words & named), None)


def _implausible_dollars(column: str, p: ColumnProfile, notes: list[str]) -> None:
    """A note when the sampled costs cannot be US dollars a record (`IMPLAUSIBLE_USD`)."""
    if p.median is None or not p.is_number:
        return
    limit = IMPLAUSIBLE_USD["whole" if p.integral else "fractional"]
    if p.median <= limit:
        return
    values = "whole numbers" if p.integral else "values"
    median = f"{p.median:,.0f}" if p.integral else f"{p.median:,.2f}"
    readings = ", ".join(
        f"as {UNIT_WORDS[unit]} ${to_field_unit(p.median, unit):,.6g}"
        for unit in ("cents", "micro_usd", "nano_usd")
    )
    notes.append(
        f"CHECK the cost unit: cost_usd is mapped to {column}, {values} with a median of "
        f"{median} per record, which as US dollars would be ${p.median:,.2f} a request "
        f"({readings}). If {column} logs cents, micro-dollars or nano-dollars, add "
        "`units: {cost_usd: micro_usd}` (or cents, nano_usd) under source:, or every cost "
        "metric, threshold and result is 100x to 1e9x off"
    )
