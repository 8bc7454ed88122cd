"""What the drift stage found in a window: verdict rows, the metrics rules read, and the words
an alert and the index use for them (pure).

Per release x cohort: one row per column (with `n` on both sides, "not enough data" below
`min_n`) and metrics: `drift.<column>` (1 when it drifted and no cohort explains it, else 0),
`drift_score.<column>`, `drift.<group>` for a group of features derived from one field (1 when
any of them drifted), and `drift_share`: drifted groups among the groups with enough data, so
four flags derived from one output count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lookout.checks.drift.stats import ColumnDrift
from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS, MetricValue
from lookout.sources.drift_columns import DriftColumn
from lookout.stages.drift.reference import Reference
from lookout.store.drift_rows import DriftRow
from lookout.windows import Window

__all__ = [
    "DriftOutcome",
    "build",
    "cohort_words",
    "decided_by",
    "detail_lines",
    "group_view",
    "record",
]


@dataclass
class DriftOutcome:
    rows: list[DriftRow] = field(default_factory=list)
    metrics: list[MetricValue] = field(default_factory=list)
    references: dict[str, Reference] = field(default_factory=dict)  # release -> reference
    release_values: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # label -> raw
    no_reference: list[str] = field(default_factory=list)
    # how each reference's summaries were had: computed from the warehouse, read from the
    # cache, or merged from the stored summaries of its period
    profiles_computed: int = 0
    profiles_cached: int = 0
    profiles_pooled: int = 0
    # per release x cohort, the window's mergeable drift features (sketches, category counts)
    summaries: dict[tuple[str, str], Summary] = field(default_factory=dict)
    period: Window | None = None  # what the verdicts pool
    attributed: int = 0  # (release, feature) pairs whose parents were checked for a source

    def drifted_groups(self) -> list[tuple[str, str]]:
        """(release, cohort) pairs with a drift no cohort explains."""
        return sorted({(r.release, r.cohort) for r in self.rows if r.alerting})


def build(
    outcome: DriftOutcome,
    release: str,
    cohort: str,
    reference: Reference,
    columns: Sequence[DriftColumn],
    verdicts: Sequence[ColumnDrift],
    explained: Mapping[str, str],
    period: Window,
) -> None:
    """Rows and metrics of one release x cohort (`explained`: column -> source cohort)."""
    group_of = {c.name: c.group for c in columns}
    rows = []
    for v in verdicts:
        source = explained.get(v.column) if v.drifted else None
        rows.append(
            DriftRow(
                release=release,
                cohort=cohort,
                column=v.column,
                reference=reference.description,
                kind=v.kind,
                method=v.method,
                score=v.score,
                threshold=v.threshold,
                drifted=v.drifted,
                status="explained" if source else v.status,
                n_reference=v.n_reference,
                n_current=v.n_current,
                period_start=period.start,
                group=group_of.get(v.column, v.column),
                gate=v.gate,
                gate_p=v.gate_p,
                gate_level=v.gate_level,
                explained_by=source,
                shift=v.details.get("shift"),
            )
        )
    outcome.rows.extend(rows)
    tested = [r for r in rows if r.drifted is not None]
    for r in tested:
        outcome.metrics.append(
            MetricValue(release, cohort, f"drift.{r.column}", float(r.alerting), r.n_current)
        )
        outcome.metrics.append(
            MetricValue(release, cohort, f"drift_score.{r.column}", float(r.score), r.n_current)  # type: ignore[arg-type]
        )
    groups: dict[str, list[DriftRow]] = {}
    for r in tested:
        groups.setdefault(r.group or r.column, []).append(r)
    names = {c.name for c in columns}
    for group, members in groups.items():
        if len({c.name for c in columns if c.group == group}) > 1 and group not in names:
            n = max(m.n_current for m in members)
            flag = float(any(m.alerting for m in members))
            outcome.metrics.append(MetricValue(release, cohort, f"drift.{group}", flag, n))
    if groups:
        share = sum(any(m.alerting for m in g) for g in groups.values()) / len(groups)
        n = max(r.n_current for r in tested)
        outcome.metrics.append(MetricValue(release, cohort, "drift_share", share, n))


def record(row: DriftRow) -> dict[str, Any]:
    """A verdict row as the store reads it back (`ResultsStore.drift`), minus the window."""
    return {
        "release": row.release,
        "cohort": row.cohort,
        "column_name": row.column,
        "reference": row.reference,
        "kind": row.kind,
        "method": row.method,
        "score": row.score,
        "threshold": row.threshold,
        "drifted": row.drifted,
        "status": row.status,
        "n_reference": row.n_reference,
        "n_current": row.n_current,
        "report_path": row.report_path,
        "period_start": row.period_start,
        "feature_group": row.group,
        "gate": row.gate,
        "gate_p": row.gate_p,
        "gate_level": row.gate_level,
        "explained_by": row.explained_by,
        "shift": row.shift,
    }


def decided_by(row: Mapping[str, Any]) -> tuple[str, float]:
    """(method, threshold) of the test that settled a stored verdict: the effect size, unless
    it was past its floor and the small-sample test did not reject (then that test, at the
    level it was held to)."""
    score, floor = row["score"], row["threshold"]
    gate, level = row.get("gate"), row.get("gate_level")
    vetoed = row["drifted"] is False and gate and level is not None and score is not None
    if vetoed and score >= floor:
        return str(gate), float(level)
    return str(row["method"]), float(floor)


def _past_floor(row: Any) -> float:
    """How far past its floor a verdict's effect is (score / floor)."""
    score, floor = row["score"], row["threshold"]
    return 0.0 if score is None or not floor else float(score) / float(floor)


def group_view(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of one release x cohort of one window as feature groups: whether each drifted
    (a member did, unexplained), its member that drifted most (or moved most, when none did),
    and the cohort that explains it when every drifted member is explained."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["drifted"] is None:
            continue
        groups.setdefault(row.get("feature_group") or row["column_name"], []).append(row)
    out = []
    for name, members in sorted(groups.items()):
        drifted = [m for m in members if m["drifted"]]
        alerting = [m for m in drifted if not m.get("explained_by")]
        top = max(alerting or drifted or members, key=_past_floor)
        out.append(
            {
                "group": name,
                "members": [m["column_name"] for m in members],
                "drifted": bool(alerting),
                "explained_by": None if alerting or not drifted else top.get("explained_by"),
                "top": top,
            }
        )
    return out


def cohort_words(cohort: str) -> str:
    """`the release overall` for `*`, else the cohort label."""
    return "the release overall" if cohort == ALL_COHORTS else cohort


def _explains_text(parents: Sequence[str]) -> str:
    """`the release overall and region=eu, region=us`."""
    others = sorted(c for c in parents if c != ALL_COHORTS)
    if ALL_COHORTS not in parents:
        return ", ".join(others)
    return cohort_words(ALL_COHORTS) + (f" and {', '.join(others)}" if others else "")


def detail_lines(rows: Sequence[DriftRow]) -> dict[tuple[str, str, str], str]:
    """(release, cohort, metric) -> the line an alert on `drift.<column>` (or `drift.<group>`)
    shows: method, score, floor, the small-sample test, reference, n, and the attribution
    (`source: plan=enterprise; explains the release overall and region=eu`)."""
    explains: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        if r.explained_by:
            explains.setdefault((r.release, r.explained_by, r.column), []).append(r.cohort)
    out: dict[tuple[str, str, str], str] = {}
    by_group: dict[tuple[str, str, str], list[DriftRow]] = {}
    for r in rows:
        if r.score is None:
            continue
        text = _line(r)
        parents = explains.get((r.release, r.cohort, r.column))
        if r.alerting and parents:
            text += f"; source: {r.cohort}; explains {_explains_text(parents)}"
        elif r.explained_by:
            text += f"; explained by {r.explained_by}"
        out[(r.release, r.cohort, f"drift.{r.column}")] = text
        if r.group and r.group != r.column:
            by_group.setdefault((r.release, r.cohort, r.group), []).append(r)
    for (release, cohort, group), members in by_group.items():
        ranked = sorted(
            members,
            key=lambda m: (not m.alerting, not m.drifted, -(m.score or 0) / (m.threshold or 1)),
        )
        top = ranked[0]
        out[(release, cohort, f"drift.{group}")] = (
            f"{top.column}: {out[(release, cohort, f'drift.{top.column}')]}"
        )
    return out


def _line(row: DriftRow) -> str:
    """`median 412 -> 1,030, p90 905 -> 2,410; wasserstein 0.42 (floor 0.1; ks p 0.001 < 0.05)
    against <reference>; n 102 vs 2,411`."""
    gate = ""
    if row.gate is not None and row.gate_p is not None:
        level = row.gate_level if row.gate_level is not None else 0.05
        gate = f"; {row.gate} p {row.gate_p:.2g} vs {level:.2g}"
    period = ""
    if row.period_start is not None:
        period = f" over the period since {_moment(row.period_start)}"
    moved = f"{row.shift}; " if row.shift else ""
    return (
        f"{moved}{row.method} {row.score:.3g} (floor {row.threshold:.3g}{gate}){period} against "
        f"{row.reference}; n {row.n_current:,} vs {row.n_reference:,}"
    )


def _moment(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"
