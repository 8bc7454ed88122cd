"""Quantile sketches bucketed by the warehouse: only DDSketch bucket counts leave the
database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.core.sketch import MIN_VALUE as SKETCH_MIN_VALUE
from lookout.core.sketch import Sketch, key_multiplier
from lookout.model.aggregates import ALL_COHORTS, label_text
from lookout.sources.cohort_queries import CohortKey

__all__ = ["sketch_buckets"]


def sketch_buckets(
    conn: sa.Connection,
    labelled: list[Any],
    fields: dict[str, sa.ColumnElement[Any]],
    where: Any,
    release_width: int,
    cohort: CohortKey | None,
) -> dict[tuple[str, str], dict[str, Sketch]]:
    """(release, cohort) -> field -> sketch, bucketed by the warehouse: one GROUP BY on the
    DDSketch bucket key (`ceil(ln |x| / ln gamma)`, sign apart, zero apart) per field, so only
    bucket counts leave the database."""
    if not fields:
        return {}
    multiplier = sa.literal(key_multiplier(), sa.Double)
    tiny = sa.literal(SKETCH_MIN_VALUE, sa.Double)
    parts = []
    for name, x in fields.items():
        sign = sa.case((x >= tiny, 1), (x <= -tiny, -1), else_=0).label("sgn")
        bucket = sa.case(
            (sa.or_(x >= tiny, x <= -tiny), sa.func.ceil(sa.func.ln(sa.func.abs(x)) * multiplier)),
            else_=0,
        ).label("b")
        parts.append(
            sa.select(*labelled, sa.literal(name).label("f"), sign, bucket, sa.func.count())
            .where(where, x.isnot(None))
            .group_by(*labelled, sign, bucket)
        )
    collected: dict[tuple[str, str, str], tuple[dict[int, float], dict[int, float], list]] = {}
    width = len(labelled)
    for row in conn.execute(sa.union_all(*parts)):
        release = "@".join(label_text(row[i]) for i in range(release_width)) or "default"
        label = ALL_COHORTS
        if cohort is not None:
            label = cohort.label([row[release_width + i] for i in range(len(cohort.columns))])
        name, sign, key, count = row[width], int(row[width + 1]), row[width + 2], row[width + 3]
        positive, negative, zero = collected.setdefault((release, label, name), ({}, {}, [0.0]))
        if sign > 0:
            positive[int(key)] = positive.get(int(key), 0.0) + float(count)
        elif sign < 0:
            negative[int(key)] = negative.get(int(key), 0.0) + float(count)
        else:
            zero[0] += float(count)
    out: dict[tuple[str, str], dict[str, Sketch]] = {}
    for (release, label, name), (positive, negative, zero) in collected.items():
        out.setdefault((release, label), {})[name] = Sketch.from_keys(positive, negative, zero[0])
    return out
