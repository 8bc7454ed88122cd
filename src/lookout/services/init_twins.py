"""Cohorts that say the same thing twice, for `lookout init` (pure).

LiteLLM logs a team twice, as `team_id` and `metadata.user_api_key_team_alias`: proposed as two
cohorts, every alert about one team came twice (13 episodes for one incident where 7 told it).
Two columns whose sampled values map one to one, both ways, are one cohort: the first kept
(the better named, as `choose_cohorts` ordered them), the other said in its role.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from lookout.model.aggregates import as_labels

__all__ = ["without_twins"]

MIN_ROWS = 20  # rows with both values that a one-to-one map is judged on


def without_twins(
    sample: pd.DataFrame,
    mapping: Mapping[str, str],
    cohorts: tuple[str, ...],
    why_not: dict[str, str],
) -> tuple[str, ...]:
    """`cohorts` without those that repeat an earlier one value for value."""
    kept: list[str] = []
    for cohort in cohorts:
        name = mapping.get(cohort, cohort)
        twin = next(
            (k for k in kept if _one_to_one(sample, mapping.get(k, k), name)),
            None,
        )
        if twin is None:
            kept.append(cohort)
        else:
            why_not[name] = (
                f"its values map one to one onto {mapping.get(twin, twin)}'s, a cohort already: "
                "as a second one, every alert about one of them would come twice"
            )
    return tuple(kept)


def _one_to_one(sample: pd.DataFrame, left: str, right: str) -> bool:
    if left not in sample or right not in sample:
        return False
    both = pd.DataFrame({"a": as_labels(sample[left]), "b": as_labels(sample[right])})
    both = both[sample[left].notna().to_numpy() & sample[right].notna().to_numpy()]
    if len(both) < MIN_ROWS or both["a"].nunique() < 2:
        return False
    return bool(
        (both.groupby("a")["b"].nunique() == 1).all()
        and (both.groupby("b")["a"].nunique() == 1).all()
    )
