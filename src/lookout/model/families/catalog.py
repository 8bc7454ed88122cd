"""Names of the metrics Lookout computes: a view of the metric family registry
(`lookout.model.families.registry.FAMILIES`), for the modules that ask by name."""

from __future__ import annotations

from lookout.model.families.registry import FAMILIES

__all__ = [
    "KNOWN_METRICS",
    "RATE_METRICS",
    "describe_metric",
    "is_known_metric",
    "is_quantile_metric",
    "is_rate_metric",
]

# exact metric name -> what it means
KNOWN_METRICS: dict[str, str] = {
    name: FAMILIES.describe(name) for name in FAMILIES.names() if "<" not in name
}
# exact names of the rates (they carry a Wilson interval)
RATE_METRICS = frozenset(name for name in KNOWN_METRICS if FAMILIES.is_rate(name))


def is_rate_metric(name: str) -> bool:
    """Rates carry a Wilson interval, so rules can ask for significance."""
    return FAMILIES.is_rate(name)


def is_known_metric(name: str) -> bool:
    return FAMILIES.known(name)


def describe_metric(name: str) -> str:
    """What a metric means, for messages and pages."""
    return FAMILIES.describe(name)


def is_quantile_metric(name: str) -> bool:
    """Quantiles (p50/p95/p99) do not pool across windows by averaging with weights."""
    return FAMILIES.is_quantile(name)
