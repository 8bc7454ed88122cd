"""`lookout init`: whether drift gets the rows its tests need, and its starter rules (the
share of drifted columns, and a model score's own drift)."""

from __future__ import annotations

import re

from lookout.checks.drift.verdict import MIN_N as DRIFT_MIN_N
from lookout.config.models import DriftConfig
from lookout.core.durations import format_duration
from lookout.services.init_rules import RulePlan, Sizing

__all__ = ["DRIFT_MIN_N", "drift_rules", "drift_sized", "score_rules"]

DRIFT_DEFAULTS = DriftConfig()  # what a monitor without a drift: section gets


def drift_sized(sizing: Sizing, shares: dict[str, float], notes: list[str]) -> tuple[bool, bool]:
    """Whether drift (and drift per cohort) gets the rows its tests need: a verdict pools its
    rolling period (a day by default), not one window."""
    per_period = sizing.rows_per_window * (DRIFT_DEFAULTS.period / sizing.window)
    need = DRIFT_MIN_N  # what every column needs (a numeric one under its KS test, fewer)
    drift = not sizing.known or per_period >= need
    if not drift:
        notes.append(
            f"drift off: about {per_period:,.0f} rows in a drift period of "
            f"{format_duration(DRIFT_DEFAULTS.period)}, fewer than the {need} a drift test "
            "needs on each side"
        )
    return drift, drift and all(per_period * s >= need for s in shares.values())


def drift_rules(owner: str, *, release: bool = True) -> list[RulePlan]:
    against = "the previous release" if release else "the same hours a week earlier"
    return [
        RulePlan(
            name="drift",
            metric="drift_share",
            op=">",
            threshold=0.5,
            severity="P2",
            owner=owner,
            split_by=("*",),
            comment=f"half the compared columns drifted from {against}",
        )
    ]


_SCORE_NAME = re.compile(r"score|prob|pred", re.IGNORECASE)


def score_rules(
    features: tuple[str, ...], cohorts: tuple[str, ...], shares: dict[str, float], owner: str
) -> list[RulePlan]:
    """A model's score is what its team watches first: one rule per column named like one
    (`score`, `probability`, `prediction`), per cohort whose typical value holds a tenth of
    the traffic (a drift test needs rows on each side)."""
    split = ("*", *(c for c in cohorts if shares.get(c, 0.0) >= 0.1))
    return [
        RulePlan(
            name=f"{column}_drift",
            metric=f"drift.{column}",
            op=">=",
            threshold=1,
            severity="P2",
            owner=owner,
            split_by=split,
            comment=f"the model's output {column} moved from the reference",
        )
        for column in features
        if _SCORE_NAME.search(column)
    ]
