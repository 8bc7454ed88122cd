"""Drift verdicts that mean something: an effect size past a floor, tested when samples are small.

With enough rows every difference is "significant": hourly KS tests of unchanged prompts fail at
the rate their level promises, and a 2% shift of 20,000 rows has p < 1e-6. So a column drifts
only when its effect size is past a floor (normed Wasserstein distance for numbers,
Jensen-Shannon distance for categories, or PSI; Evidently's own large-sample measures), and, when
either side has at most `small_sample` rows (where noise alone moves an effect size past its
floor), only if its small-sample p-value test rejects too (KS; chi-square or z for few values;
corrected for the number of columns tested). A p-value is never sufficient on its own. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from lookout.checks.drift.shift import shift_of
from lookout.checks.drift.sketches import distinct_values, paired, rebinned
from lookout.checks.drift.stats import ColumnDrift, column_drift, holm
from lookout.core.sketch import Sketch
from lookout.sources.drift_columns import DriftColumn

__all__ = [
    "MAX_CATEGORIES",
    "MIN_N",
    "MIN_N_KS",
    "OTHER",
    "Criteria",
    "cap_categories",
    "judge",
    "judge_all",
]

MAX_CATEGORIES = 50
OTHER = "(other)"
# Few distinct numbers are compared as categories (Evidently: at most 5).
FEW_VALUES = 5
# Rows per side a verdict needs when `drift.min_n` is not set: a numeric column of many values
# gated by its KS test (exact on small sides, valid at any n) from MIN_N_KS, so a large shift of
# a canary's first rows is called; the rest from MIN_N, since chi-square and z p-values are
# asymptotic (one row of a 1% category among 10 gives p 0.004 where the exact chance is 10%)
# and a side past `small_sample` has no gate
MIN_N = 30
MIN_N_KS = 10


@dataclass(frozen=True)
class Criteria:
    """What a verdict needs from the config (`Criteria.of(monitor.drift)`)."""

    min_n: int | None = None  # DriftConfig.min_n: one floor for every column when set
    floors: Mapping[str, float] | None = None  # effect method -> floor
    levels: Mapping[str, float] | None = None  # p-value test -> level
    small_sample: int = 1000
    numeric_method: str = "auto"
    categorical_method: str = "auto"
    correction: str = "holm"
    # the cohort groups of one release judged together in a window: the p-value tests are
    # corrected over them too (Bonferroni), since 14 groups x 24 hourly windows of the same
    # release would otherwise find "significant" somewhere every day
    groups: int = 1

    @classmethod
    def of(cls, config: Any) -> Criteria:
        """From a `DriftConfig`."""
        return cls(
            min_n=config.min_n,
            floors={m: config.floor(m) for m in ("wasserstein", "jensenshannon", "psi")},
            levels={m: config.level(m) for m in ("ks", "chisquare", "z")},
            small_sample=config.small_sample,
            numeric_method=config.numeric_method,
            categorical_method=config.categorical_method,
            correction=config.correction,
        )

    def rows_needed(self, test: str, smaller_side: int) -> int:
        """Rows per side a verdict needs: `min_n` when the config sets it; else MIN_N_KS for a
        column its KS test gates, MIN_N for the rest."""
        if self.min_n is not None:
            return self.min_n
        return MIN_N_KS if test == "ks" and smaller_side <= self.small_sample else MIN_N

    def floor(self, method: str) -> float:
        defaults = {"wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.2}
        return float((self.floors or defaults).get(method, defaults[method]))

    def level(self, method: str) -> float:
        base = float((self.levels or {}).get(method, 0.05))
        return base if self.correction == "none" else base / max(1, self.groups)

    def across(self, groups: int) -> Criteria:
        """These criteria for one of `groups` cohort groups of a release tested together."""
        return replace(self, groups=max(1, groups))


def cap_categories(counts: Mapping[str, float], keep: Sequence[str] | None = None) -> dict:
    """At most MAX_CATEGORIES values (the reference's most frequent); the rest as `(other)`."""
    if keep is None:
        keep = [k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_CATEGORIES]]
    kept = set(keep)
    out: dict[str, float] = {}
    for key, count in counts.items():
        label = key if key in kept else OTHER
        out[label] = out.get(label, 0) + count
    return out


def _n(side: Sketch | Mapping[str, float]) -> int:
    return round(float(side.count if isinstance(side, Sketch) else sum(side.values())))


def _methods(column: DriftColumn, distinct: int, criteria: Criteria) -> tuple[str, str]:
    """(effect size, small-sample test) of a column, Evidently's choice by kind and values."""
    few = distinct <= FEW_VALUES
    test = ("chisquare" if distinct > 2 else "z") if few or column.kind != "numeric" else "ks"
    if column.kind == "numeric":
        effect = criteria.numeric_method
        if effect == "auto":
            effect = "jensenshannon" if few else "wasserstein"
    else:
        effect = (
            "jensenshannon"
            if criteria.categorical_method == "auto"
            else (criteria.categorical_method)
        )
    return effect, test


def judge(
    column: DriftColumn,
    reference: Sketch | Mapping[str, float] | None,
    current: Sketch | Mapping[str, float],
    criteria: Criteria,
) -> tuple[ColumnDrift, ColumnDrift | None]:
    """The effect verdict of one column, and its small-sample test when one applies (not yet
    corrected: `judge_all` corrects the tests of one release x cohort together)."""
    name, kind = column.name, column.kind
    n_cur = _n(current)
    if reference is None:
        return ColumnDrift(name, kind, "", None, 0.0, None, 0, n_cur, "no_reference"), None
    n_ref = _n(reference)
    if isinstance(reference, Sketch) and isinstance(current, Sketch):
        distinct = distinct_values(reference, current)
        effect, test = _methods(column, distinct, criteria)
        describe = partial(shift_of, reference, current, few=distinct <= FEW_VALUES)
        ref_p, cur_p = paired(reference, current)
        if effect == "wasserstein" or distinct <= FEW_VALUES:
            ref_e, cur_e = ref_p, cur_p
        else:  # a binned effect size of a continuous column: bins at the reference quantiles
            ref_e, cur_e = rebinned(reference, current)
        args: tuple[Any, Any, Any, Any] = (ref_e, cur_e, ref_p, cur_p)
    else:
        keep = [k for k, _ in sorted(reference.items(), key=lambda kv: -kv[1])][:MAX_CATEGORIES]  # type: ignore[union-attr]
        ref_c = cap_categories(reference, keep)  # type: ignore[arg-type]
        cur_c = cap_categories(current, keep)  # type: ignore[arg-type]
        effect, test = _methods(column, len(set(ref_c) | set(cur_c)), criteria)
        args = (ref_c, cur_c, ref_c, cur_c)
        describe = partial(shift_of, ref_c, cur_c, few=False)
    needed = criteria.rows_needed(test, min(n_ref, n_cur))
    verdict = column_drift(
        name,
        kind,
        args[0],
        args[1],
        min_n=needed,
        method=effect,
        threshold=criteria.floor(effect),
    )
    if verdict.score is not None:  # which way it moved, for the alert and the index
        verdict = replace(verdict, details={**verdict.details, "shift": describe()})
    if verdict.status == "not_enough_data" or min(n_ref, n_cur) > criteria.small_sample:
        return verdict, None
    gate = column_drift(
        name,
        kind,
        args[2],
        args[3],
        min_n=needed,
        method=test,
        threshold=criteria.level(test),
    )
    return verdict, gate


def judge_all(
    columns: Sequence[DriftColumn],
    reference: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    criteria: Criteria,
    *,
    correct: bool = True,
) -> list[ColumnDrift]:
    """Verdicts of the columns present in `current` (name -> sketch or category counts) against
    `reference` (the same, or None when there is none): the small-sample tests of the ones that
    need them corrected together (Holm-Bonferroni by default), then combined with the effects."""
    judged: list[tuple[ColumnDrift, ColumnDrift | None]] = []
    for column in columns:
        if column.name not in current:
            continue
        ref = None if reference is None else reference.get(column.name)
        if reference is not None and ref is None:
            ref = {} if column.kind == "categorical" else Sketch()
        judged.append(judge(column, ref, current[column.name], criteria))
    gates = [g for _, g in judged if g is not None]
    corrected = holm(gates, criteria.correction if correct else "none")
    levels = _levels(gates, corrected, criteria.correction if correct else "none")
    by_name = {g.column: g for g in corrected}
    out = []
    for verdict, gate in judged:
        if gate is None:
            out.append(verdict)
            continue
        test = by_name[gate.column]
        drifted = bool(verdict.drifted) and bool(test.drifted)
        out.append(
            replace(
                verdict,
                drifted=drifted,
                status="drifted" if drifted else "ok",
                gate=test.method,
                gate_p=test.score,
                gate_level=levels.get(gate.column, test.threshold),
                details={**verdict.details, **test.details},
            )
        )
    return out


def _levels(
    tests: Sequence[ColumnDrift], corrected: Sequence[ColumnDrift], correction: str
) -> dict[str, float]:
    """The level each test was held to after the correction (what a report configured with
    that test and level reproduces): Bonferroni level / m; Holm's step-down level at its rank
    (a test after the first acceptance keeps the level that accepted, which it also misses)."""
    scored = [t for t in tests if t.score is not None]
    m = len(scored)
    if correction == "none" or m < 2:
        return {t.column: t.threshold for t in tests}
    out: dict[str, float] = {}
    order = sorted(scored, key=lambda t: t.score)  # type: ignore[arg-type, return-value]
    accepted_at: float | None = None
    rejected = {t.column for t in corrected if t.drifted}
    for rank, test in enumerate(order):
        level = test.threshold / (m - rank if correction == "holm" else m)
        if correction == "holm" and accepted_at is not None:
            level = accepted_at
        out[test.column] = level
        if correction == "holm" and test.column not in rejected and accepted_at is None:
            accepted_at = level
    return out
