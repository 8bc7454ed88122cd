"""The expectations `lookout init` proposes, held against its own sample (pure).

An expectation the sampled rows already fail would fail the window it was proposed from, and
most windows after it: the data-quality rule would page from the first run. Each row-level
check init proposes is run on the sample as the validation stage reads it (nulls count only
for `not_null`; `mostly` is the share that must pass); one the sample fails is left out, with a
note saying why. Values the sample cut (text at `TEXT_CHARS`) are not judged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lookout.core.values import matches
from lookout.services.init_columns import TEXT_CHARS

__all__ = ["sample_failure", "without_failures"]

# (passing, judged) masks over the column's rows
_Masks = tuple[np.ndarray, np.ndarray]


def without_failures(
    suite: Sequence[dict[str, Any]], frame: pd.DataFrame, notes: list[str]
) -> tuple[dict[str, Any], ...]:
    """`suite` less the expectations the sample fails, each left out with a note."""
    kept = []
    for spec in suite:
        failure = sample_failure(spec, frame)
        if failure is None:
            kept.append(spec)
        else:
            notes.append(f"no {spec['kind']} check of {spec['column']}: {failure}")
    return tuple(kept)


def sample_failure(spec: dict[str, Any], frame: pd.DataFrame) -> str | None:
    """Why the sample fails `spec`; None when it passes or the sample cannot judge it."""
    check = _CHECKS.get(spec["kind"])
    column = spec.get("column")
    if check is None or column not in frame:
        return None
    passing, judged = check(spec, frame[column])
    if not judged.any():
        return None
    share = float(passing[judged].mean())
    mostly = float(spec.get("mostly", 1.0))
    if share >= mostly:
        return None
    failed = int((~passing & judged).sum())
    return f"{failed:,} of the sample's {int(judged.sum()):,} values fail it ({1 - share:.1%})"


def _not_null(spec: dict[str, Any], values: pd.Series) -> _Masks:
    return values.notna().to_numpy(), np.ones(len(values), dtype=bool)


def _unique(spec: dict[str, Any], values: pd.Series) -> _Masks:
    present = values.notna().to_numpy()
    repeated = values.astype(str).duplicated(keep=False).to_numpy()
    return present & ~repeated, present


def _between(spec: dict[str, Any], values: pd.Series) -> _Masks:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    low, high = spec.get("min"), spec.get("max")
    passing = ~np.isnan(numbers)
    if low is not None:
        passing &= numbers >= low
    if high is not None:
        passing &= numbers <= high
    return passing, values.notna().to_numpy()


def _in_set(spec: dict[str, Any], values: pd.Series) -> _Masks:
    return matches(values, spec["values"]), values.notna().to_numpy()


def _parses(value: object) -> bool:
    try:
        json.loads(value if isinstance(value, str | bytes) else json.dumps(value))
    except (TypeError, ValueError):
        return False
    return True


def _json_parses(spec: dict[str, Any], values: pd.Series) -> _Masks:
    whole = values.map(lambda v: not (isinstance(v, str) and len(v) >= TEXT_CHARS))
    judged = values.notna().to_numpy() & whole.to_numpy(dtype=bool)
    passing = values.map(lambda v: v is not None and _parses(v)).to_numpy(dtype=bool)
    return passing, judged


_CHECKS: dict[str, Callable[[dict[str, Any], pd.Series], _Masks]] = {
    "not_null": _not_null,
    "unique": _unique,
    "between": _between,
    "in_set": _in_set,
    "json_parses": _json_parses,
}
