"""Metric families: what every metric Lookout stores means, how it is shown, and how it pools.

One registry answers what used to be spread as name-prefix checks over rules, messages, compare
and scorecards: is this a rate (it carries a Wilson interval, rules may ask for significance),
a quantile, a per-window count; its unit and how to print a value; the `min_n` a rule on it
needs by default; and how to compute it from a merged `Summary` (any lookback).

One module per stage declares that stage's families (`ops`, `validation`, `drift`,
`evaluators`, and `health` for the window run's own); `registry.FAMILIES` holds them all.
They are pure data and pure functions over summaries, so config, the store and the stages
share them without importing each other.
"""

from lookout.model.families.base import Estimate, MetricFamily, Registry, Unit

__all__ = ["Estimate", "MetricFamily", "Registry", "Unit"]
