"""Which mapped fields make the release, for `lookout init` (pure).

A release is the model and the prompt (or app) version, joined with @. A row whose release
field is NULL is counted under a label like `(null)@agent-2.3.0`, which Lookout takes for a
logging bug: a phantom release on which no rule is evaluated (`lookout.runtime.scopes`). So a
field that is NULL on a substantial share of the sampled rows by design (an OpenTelemetry tool
span has no model) stays out of the release, and a note says so: kept in, it would leave all
those rows unalerted for good, with nothing saying so. It stays mapped, to be shown or made a
cohort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from lookout.model.aggregates import label_text
from lookout.services.init_columns import ColumnProfile, low_cardinality
from lookout.services.init_names import normalized_name

__all__ = ["INCOMPLETE_RELEASE", "ReleaseChoice", "choose_release"]

# The NULL share of a release field's sampled rows above which it is left out of the release.
# A NULL here and there is a logging gap, which the phantom release and its data-quality alert
# are there for, and leaving the field out for it would merge every model into one release. A
# field missing on one row in twenty or more is missing by design (tool spans, cache hits, rows
# of another kind): the gap is no bug anyone will fix, and a twentieth of the traffic or more
# would be alerted on by no rule.
INCOMPLETE_RELEASE = 0.05
RELEASE_FIELDS = ("model_version", "prompt_version")


@dataclass(frozen=True)
class ReleaseChoice:
    """The release fields init proposes and the YAML comment that says why."""

    fields: tuple[str, ...]
    comment: str


def choose_release(
    mapping: dict[str, str],
    profiles: Sequence[ColumnProfile],
    sample: pd.DataFrame,
    notes: list[str],
) -> ReleaseChoice:
    """The mapped release fields that are filled on (nearly) every sampled row; a note for
    each left out, and for what the release then is."""
    by_name = {p.name: p for p in profiles}
    fields = [f for f in RELEASE_FIELDS if f in mapping]
    if not fields:
        notes.append("no model or version column: every row is one release (`default`)")
        return ReleaseChoice((), "no model or version column found: one release, `default`")
    gaps = {
        f: by_name[mapping[f]]
        for f in fields
        if by_name[mapping[f]].rows and by_name[mapping[f]].null_share > INCOMPLETE_RELEASE
    }
    kept = tuple(f for f in fields if f not in gaps)
    empty = [
        f"{p.name} is empty on {_share(p)}{_where_empty(p, profiles, sample)}"
        for p in gaps.values()
    ]
    for f in kept:
        p = by_name[mapping[f]]
        if p.non_null < p.rows:
            notes.append(
                f"{p.name} is empty on {_share(p)}: it stays in the release (a gap in the "
                f"logging, not rows that never have one), so those rows make a release like "
                f"`(null)@...` that no rule evaluates; if such rows are normal, take {f} out "
                "of `release:`"
            )
    if not gaps:
        _version_note(mapping, notes)
        return ReleaseChoice(kept, "a release is one value of each (model@version)")
    names = " and ".join(mapping[f] for f in kept)
    phantom = "@".join("(null)" if f in gaps else f"<{mapping[f]}>" for f in fields)
    left_out = "; ".join(
        f"{p.name} stays mapped as {f} (add {f} to cohorts to alert per value)"
        for f, p in gaps.items()
    )
    if kept:
        notes.append(
            f"{'; '.join(empty)}: the release is {names} alone; with it in the release those "
            f"rows would be the release {phantom}, which Lookout takes for a logging bug and "
            f"evaluates no rule on. {left_out}"
        )
        return ReleaseChoice(kept, f"{names} alone: {_first_words(empty)} (see Notes)")
    notes.append(
        f"{'; '.join(empty)}: no release field is filled on every row, so there is no release "
        "column: every row is one release (`default`), the spend rule compares each cohort "
        "with its own history and drift compares each window with the same hours a week "
        f"earlier; a release of {' and '.join(gaps)} would put those rows in {phantom}, on "
        f"which no rule is evaluated. {left_out}. To tell releases apart, log a version on "
        "every row (or map a view that fills one in) and name it in `release:`"
    )
    return ReleaseChoice((), "none: no release field is filled on every row (see Notes)")


def _share(p: ColumnProfile) -> str:
    """`30% of the sampled rows (1,055 of 3,504)`."""
    share = p.null_share
    shown = f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"
    return f"{shown} of the sampled rows ({p.rows - p.non_null:,} of {p.rows:,})"


def _first_words(empty: list[str]) -> str:
    """`gen_ai_request_model is empty on 30% of the sampled rows`, for a one-line comment."""
    return "; ".join(text.split(" (", 1)[0] for text in empty)


def _where_empty(p: ColumnProfile, profiles: Sequence[ColumnProfile], sample: pd.DataFrame) -> str:
    """`, exactly the rows with span_kind tool` when the empty rows are exactly the rows of one
    value of a low-cardinality column: the kind of row that has no value by design."""
    if p.name not in sample:
        return ""
    empty = sample[p.name].isna().to_numpy()
    for other in profiles:
        if other.name == p.name or other.name not in sample or not low_cardinality(other):
            continue
        labels = sample[other.name].map(lambda v: None if pd.isna(v) else label_text(v))
        values = set(labels[empty])
        if len(values) != 1 or None in values:
            continue
        (value,) = values
        if ((labels == value).to_numpy() == empty).all():
            return f", exactly the rows with {other.name} {value}"
    return ""


def _version_note(mapping: dict[str, str], notes: list[str]) -> None:
    column = mapping.get("prompt_version")
    if column is not None and normalized_name(column) != "prompt_version":
        notes.append(
            f"release: {column} is mapped as prompt_version, so a release reads "
            f"<model>@<{column}>; `release:` may name any columns instead, e.g. "
            f"release: [{mapping.get('model_version', '<model column>')}, {column}]"
        )
