"""The types of the registry: a metric family, its estimate over a merged summary, and the
registry that answers questions about a stored metric name (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from lookout.core.summary import Summary

__all__ = ["Estimate", "MetricFamily", "Registry", "Unit"]

Unit = Literal["count", "share", "ms", "usd", "tokens", "score", "flag", "ratio", "kappa"]


@dataclass(frozen=True)
class Estimate:
    """A metric's value over some windows, with its sample size and interval (rates)."""

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class MetricFamily:
    """One metric (`error_rate`) or a family of them by prefix (`eval.` + evaluator name)."""

    key: str
    stage: str
    description: str  # `{name}`: the part after a prefix (the column, evaluator, expectation)
    unit: Unit
    rate: bool = False
    quantile: float | None = None
    min_n: int = 30  # what a rule on it needs by default (pooled n)
    # breaching evaluations in a row before a rule on it opens, by default: 2 for sampled
    # statistics (a single noisy window never pages), 1 for deterministic counts
    persistence: int = 2
    better: Literal["lower", "higher"] | None = None
    per_window: bool = False  # a count per window: pooled as its mean per window
    # the metric of a merged summary; None: not poolable from summaries
    from_summary: Callable[[Summary, str], Estimate | None] | None = None

    @property
    def proportion(self) -> bool:
        """A rate that is a share of its n records, so an exact binomial interval of its value
        and n decides significance; a rate of another unit (the traffic ratio, rows over the
        rows expected) is decided on the interval stored with it."""
        return self.rate and self.unit == "share"

    @property
    def is_prefix(self) -> bool:
        return self.key.endswith(".")

    def matches(self, name: str) -> bool:
        if self.is_prefix:
            return name.startswith(self.key) and len(name) > len(self.key)
        return name == self.key

    def part(self, name: str) -> str:
        """The column, evaluator or expectation a prefixed name is about."""
        return name.removeprefix(self.key) if self.is_prefix else name


class Registry:
    """The families of every stage; longest prefix wins (`eval_score.` before `eval.`)."""

    def __init__(self, families: Iterable[MetricFamily]) -> None:
        self._exact: dict[str, MetricFamily] = {}
        self._prefixes: list[MetricFamily] = []
        for family in families:
            if family.is_prefix:
                self._prefixes.append(family)
            elif family.key in self._exact:
                raise ValueError(f"metric {family.key!r} is declared twice")
            else:
                self._exact[family.key] = family
        self._prefixes.sort(key=lambda f: -len(f.key))

    def family(self, name: str) -> MetricFamily | None:
        if name in self._exact:
            return self._exact[name]
        for family in self._prefixes:
            if family.matches(name):
                return family
        return None

    def known(self, name: str) -> bool:
        return self.family(name) is not None

    def names(self) -> list[str]:
        """Every exact name and every prefix as `prefix<name>`, for error messages."""
        return [*self._exact, *(f"{f.key}<{f.stage} name>" for f in self._prefixes)]

    def describe(self, name: str) -> str:
        family = self.family(name)
        return name if family is None else family.description.format(name=family.part(name))

    def is_rate(self, name: str) -> bool:
        family = self.family(name)
        return family is not None and family.rate

    def is_proportion(self, name: str) -> bool:
        family = self.family(name)
        return family is not None and family.proportion

    def is_quantile(self, name: str) -> bool:
        family = self.family(name)
        return family is not None and family.quantile is not None

    def of_stage(self, stage: str) -> Callable[[str], bool]:
        """Which stored metric names a stage produces."""

        def belongs(name: str) -> bool:
            family = self.family(name)
            return family is not None and family.stage == stage

        return belongs

    def min_n(self, name: str) -> int:
        family = self.family(name)
        return 1 if family is None else family.min_n

    def persistence(self, name: str) -> int:
        family = self.family(name)
        return 1 if family is None else family.persistence

    def poolable(self, name: str) -> bool:
        family = self.family(name)
        return family is not None and family.from_summary is not None

    def pooled(self, name: str, summary: Summary) -> Estimate | None:
        """The metric over a merged summary (any lookback), or None when it cannot tell."""
        family = self.family(name)
        if family is None or family.from_summary is None:
            return None
        return family.from_summary(summary, family.part(name))

    def format(self, name: str, value: float) -> str:
        """Rates as percentages, times in ms, money in USD, counts as integers."""
        family = self.family(name)
        unit = family.unit if family is not None else "score"
        if unit == "share":
            return f"{value:.2%}"
        if unit == "flag":
            return "drifted" if value >= 1 else "no drift"
        if unit == "ms":
            return f"{value:,.0f} ms"
        if unit == "usd":
            return dollars(value)
        if unit == "count":
            return f"{value:,.0f}"
        if unit == "ratio":
            return f"{value:.2f}x"
        if unit in ("score", "kappa"):
            return f"{value:.3g}"
        return f"{value:,.2f}"


def dollars(value: float) -> str:
    """US dollars to three significant digits, and cents at least: `$12.34`, `$0.0123`,
    `$0.0000730` (a cost per request of 7.3e-05 read `$0.00007`, and a doubled one `$0.00015`)."""
    if not math.isfinite(value):
        return f"${value}"
    size = abs(value)
    decimals = 2 if size == 0 or size >= 1 else min(10, 2 - math.floor(math.log10(size)))
    return f"{'-' if value < 0 else ''}${size:,.{decimals}f}"
