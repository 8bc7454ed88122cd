"""An error column as the status, for `lookout init` (pure).

Many application tables log no status but the error of a request that failed: `error`,
`error_message`, `exception`, NULL when it succeeded. Read as a status, each NULL would be an
unknown status and each message an error: an error rate of 100%. Mapped with
`source.null_status: ok`, a NULL is a success and any message is an error. A column is taken
when it is NULL on most sampled rows and either is named like an error (when no status column
is mapped) or is the status column mapped by its name (Langfuse's `status_message`) whose
values init cannot call ok.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lookout.model.aggregates import as_labels
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_expectations import ok_statuses
from lookout.services.init_names import LEVEL_NAMES, normalized_name

__all__ = [
    "ERROR_NAMES",
    "as_rule_statuses",
    "error_status",
    "level_status",
    "not_the_errors",
    "nulls_marking_errors",
]

ERROR_NAMES = frozenset(
    {"error", "errors", "error_message", "error_msg", "err", "err_msg", "errmsg", "exception"}
    | {"error_text", "error_detail", "error_details", "failure_reason", "failure", "error_type"}
    | {"error_code", "error_class", "exception_message", "exception_type", "last_error"}
)
MOSTLY_NULL = 0.5  # share of sampled rows without a value: most requests succeed
# what an error says: a word of failure, or a message (words with spaces, `Error: ...`)
_ERROR_WORDS = re.compile(
    r"error|exception|fail|fatal|timeout|timed out|denied|invalid|refused|unavailable|"
    r"exceeded|abort|crash|panic",
    re.IGNORECASE,
)
_FLAGS = re.compile(r"error|exception|fail|fatal|critical", re.IGNORECASE)  # a level's words


def _errors(p: ColumnProfile) -> bool:
    """Do the sampled values of a status found by its name read as errors, not as states
    (`delivered`, `rejected`, codes 1 and 2)? Messages or failure words; HTTP codes of 400+."""
    values = [value.strip() for value, _ in p.top]
    if not values:
        return False
    if p.info.kind in ("integer", "number"):  # every sampled value, from the profile's range
        low, high = p.minimum, p.maximum
        return low is not None and high is not None and 400 <= low <= high < 600
    return all(_ERROR_WORDS.search(v) or " " in v or ":" in v for v in values)


_LEVEL_ERRORS = frozenset({"error", "err", "critical", "crit", "fatal", "alert", "emergency"})
_LEVEL_OK = ("default", "trace", "debug", "info", "notice", "warning", "warn")


def level_status(profiles: Sequence[ColumnProfile]) -> tuple[str, tuple[str, ...], str] | None:
    """(column, ok values, why) of a log level to read as the status: Langfuse's `level`
    (DEFAULT, DEBUG, WARNING, ERROR) beside a `status_message` that a warning fills too (a
    retry that succeeded), so the message as the status counted warnings as errors. Every
    level short of an error is ok, in the column's own spelling; None without such a column."""
    for p in profiles:
        if normalized_name(p.name) not in LEVEL_NAMES or p.info.kind not in ("text", "other"):
            continue
        seen = [value.strip() for value, _ in p.top]
        words = {value.lower() for value in seen}
        if not seen or not words <= {*_LEVEL_ERRORS, *_LEVEL_OK} or words <= _LEVEL_ERRORS:
            continue
        spelled = str.upper if all(v.isupper() for v in seen) else str.lower
        if all(v[:1].isupper() and v[1:].islower() for v in seen):
            spelled = str.capitalize
        ok = tuple(
            dict.fromkeys([*(v for v in seen if v.lower() in _LEVEL_OK), *map(spelled, _LEVEL_OK)])
        )
        why = (
            f"a log level ({p.shown(5)}): every level short of an error is ok, so a warning "
            "(a retry that succeeded) is no error"
        )
        return p.name, ok, why
    return None


def error_status(
    profiles: Sequence[ColumnProfile], mapping: Mapping[str, str], taken: set[str]
) -> tuple[str, str] | None:
    """(column, why) of an error column to read as the status with `null_status: ok`; None
    otherwise."""
    if "status" in mapping:
        status = next((p for p in profiles if p.name == mapping["status"]), None)
        if status is None or not status.rows or status.non_null == 0:
            return None
        empty = 1 - status.non_null / status.rows
        if empty < MOSTLY_NULL or ok_statuses(status) is not None or not _errors(status):
            return None  # ok values (2xx, ok words), logged on most rows, or labels of states
        return status.name, (
            f"a status NULL on {empty:.0%} of the sampled rows, whose values are no ok word "
            "(errors): read with null_status: ok (NULL a success, any value an error)"
        )
    for p in profiles:
        if p.name in taken or normalized_name(p.name) not in ERROR_NAMES or not p.rows:
            continue
        if p.info.kind not in ("text", "other", "integer") or p.non_null == 0:
            continue
        empty = 1 - p.non_null / p.rows
        if empty >= MOSTLY_NULL:
            return p.name, (
                f"an error column, NULL on {empty:.0%} of the sampled rows: read as the status "
                "with null_status: ok (NULL a success, any value an error)"
            )
    return None


_SUCCESS = "(no error)"  # what a NULL of an error column is to the rules init sizes


def as_rule_statuses(
    frame: pd.DataFrame, ok: tuple[str, ...] | None, error_column: bool
) -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    """The sample's statuses and ok values as the error-rate rules read them: with an error
    column (`null_status: ok`) a NULL is a success, so every row has a known status and the
    rate is the share of rows with an error, not 100% of the rows with one."""
    if not error_column or "status" not in frame:
        return frame, ok
    statuses = frame["status"].astype(object).where(frame["status"].notna(), _SUCCESS)
    return frame.assign(status=statuses), (*(ok or ()), _SUCCESS)


FLAG_ERROR_SHARE = 0.9  # of a value's sampled rows that are errors: the value says "error"
FLAG_MIN_ROWS = 5  # rows such a value needs in the sample
FLAG_SHARE_OF_ERRORS = 0.5  # of all sampled errors its rows hold


def not_the_errors(
    sample: pd.DataFrame,
    mapping: Mapping[str, str],
    cohorts: tuple[str, ...],
    ok: tuple[str, ...] | None,
    why_not: dict[str, str],
) -> tuple[str, ...]:
    """The cohorts that are not the errors again. A column with a value that marks the
    errors themselves (Langfuse's `level` ERROR beside `status_message`) makes a cohort whose
    error rate is 100% in every window: its alert would fire for ever on a healthy table."""
    column = mapping.get("status")
    if column is None or ok is None or column not in sample:
        return cohorts
    statuses = sample[column]
    errors = (statuses.notna() & ~as_labels(statuses).isin(ok)).to_numpy()
    if errors.sum() < FLAG_MIN_ROWS:
        return cohorts
    kept = []
    for cohort in cohorts:
        name = mapping.get(cohort, cohort)
        if name not in sample:
            kept.append(cohort)
            continue
        rates = pd.DataFrame({"value": as_labels(sample[name]), "error": errors})
        rates = rates.groupby("value")["error"].agg(["mean", "size", "sum"])
        flags = rates[(rates["mean"] >= FLAG_ERROR_SHARE) & (rates["size"] >= FLAG_MIN_ROWS)]
        # only a value that names an error (ERROR, FATAL): a region in an incident at sampling
        # time, or a NULL label, is a cohort to keep
        flags = flags[[bool(_FLAGS.search(str(v))) for v in flags.index]]
        if flags.empty or flags["sum"].sum() < FLAG_SHARE_OF_ERRORS * errors.sum():
            kept.append(cohort)
            continue
        value = str(flags.index[0])
        why_not[name] = (
            f"{name}={value} marks the errors themselves ({flags['mean'].iloc[0]:.0%} of its "
            "sampled rows are errors): as a cohort its error rate would always alert"
        )
    return tuple(kept)


# a NULL cohort value whose rows fail at least this often, and this many times as often as
# the other rows, is where the errors are logged, not a cohort of traffic
NULL_ERROR_RATE = 0.25
NULL_ERROR_RATIO = 5.0


def nulls_marking_errors(
    frame: pd.DataFrame, cohorts: Sequence[str], errors: np.ndarray
) -> dict[str, tuple[float, float]]:
    """Cohort -> (share of the errors, error rate) of its NULL rows, for the cohorts left NULL
    on most errors (an app that fails before it knows the channel): `channel=(null)` then
    holds the errors and a few rows besides, and its error rate (37-64% on a trial's table)
    pages in every window. The cohort stays (its latency and spend are real); the error rules
    are not split by it."""
    total = int(errors.sum())
    out: dict[str, tuple[float, float]] = {}
    if total < FLAG_MIN_ROWS:
        return out
    for cohort in cohorts:
        if cohort not in frame:
            continue
        nulls = frame[cohort].isna().to_numpy()
        in_nulls, rows = int((nulls & errors).sum()), int(nulls.sum())
        rest = (total - in_nulls) / max(len(frame) - rows, 1)
        if rows < FLAG_MIN_ROWS or in_nulls < FLAG_SHARE_OF_ERRORS * total:
            continue
        if in_nulls / rows >= max(NULL_ERROR_RATIO * rest, NULL_ERROR_RATE):
            out[cohort] = (in_nulls / total, in_nulls / rows)
    return out
