"""Compact expectation specs -> Great Expectations 1.x expectation objects (pure mapping)."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from lookout.config.validation import ExpectationSpec, spec_name
from lookout.errors import ConfigError, ConfigIssue
from lookout.model.local_times import local_naive
from lookout.windows import Window

__all__ = ["load_suite_file", "referenced_columns", "to_gx"]


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def to_gx(spec: ExpectationSpec, window: Window, *, naive_zone: tzinfo | None) -> Any:
    """One GX expectation; `meta.lookout_name` carries the spec's id through GX's results.

    `naive_zone`: the batch holds naive wall times of that zone (SQL on a TIMESTAMP column
    without a zone; `source.zone`) rather than UTC-aware ones (None: the DataFrame path), so
    time bounds are given in the same form.
    """
    gxe = _gxe()
    meta = {"lookout_name": spec_name(spec)}
    kind = spec.kind
    if kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=spec.column, mostly=spec.mostly, meta=meta)
    if kind == "between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=spec.column,
            min_value=spec.min,
            max_value=spec.max,
            mostly=spec.mostly,
            meta=meta,
        )
    if kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(
            column=spec.column, value_set=list(spec.values), mostly=spec.mostly, meta=meta
        )
    if kind == "unique":
        return gxe.ExpectColumnValuesToBeUnique(column=spec.column, mostly=spec.mostly, meta=meta)
    if kind == "regex":
        return gxe.ExpectColumnValuesToMatchRegex(
            column=spec.column, regex=spec.pattern, mostly=spec.mostly, meta=meta
        )
    if kind == "max_length":
        return gxe.ExpectColumnValueLengthsToBeBetween(
            column=spec.column, max_value=spec.max, mostly=spec.mostly, meta=meta
        )
    if kind == "json_parses":
        return gxe.ExpectColumnValuesToBeJsonParseable(
            column=spec.column, mostly=spec.mostly, meta=meta
        )
    if kind == "mean_between":
        return gxe.ExpectColumnMeanToBeBetween(
            column=spec.column, min_value=spec.min, max_value=spec.max, meta=meta
        )
    if kind == "quantile_between":
        return gxe.ExpectColumnQuantileValuesToBeBetween(
            column=spec.column,
            quantile_ranges={"quantiles": [spec.quantile], "value_ranges": [[spec.min, spec.max]]},
            meta=meta,
        )
    if kind == "row_count_between":
        return gxe.ExpectTableRowCountToBeBetween(min_value=spec.min, max_value=spec.max, meta=meta)
    if kind == "columns_present":
        return gxe.ExpectTableColumnsToMatchSet(
            column_set=list(spec.columns), exact_match=spec.exact, meta=meta
        )
    if kind == "fresh":
        oldest: datetime = window.end - spec.max_age
        if naive_zone is not None:
            oldest = local_naive(oldest, naive_zone)
        return gxe.ExpectColumnMaxToBeBetween(column=spec.column, min_value=oldest, meta=meta)
    raise ValueError(f"unknown expectation kind {kind!r}")  # unreachable: config validated


def referenced_columns(specs: list[ExpectationSpec]) -> set[str]:
    """The canonical columns a suite reads (so nothing else is selected)."""
    return {column for spec in specs if (column := getattr(spec, "column", None))}


def load_suite_file(path: Path, monitor_index: int) -> list[Any]:
    """Expectations of a GX ExpectationSuite JSON file (columns must be canonical names)."""
    import great_expectations as gx

    where = f"monitors[{monitor_index}].validation.suite_file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(
            **{k: v for k, v in data.items() if k in {"name", "expectations", "meta"}}
        )
    except FileNotFoundError:
        raise ConfigError([ConfigIssue("monitors.yml", where, f"file not found: {path}")]) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(path.name, "", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)]
        ) from None
    except Exception as exc:
        raise ConfigError(
            [ConfigIssue("monitors.yml", where, f"not a GX expectation suite: {exc}")]
        ) from None
    for expectation in suite.expectations:
        expectation.meta = {**(expectation.meta or {}), "lookout_name": _suite_name(expectation)}
    return list(suite.expectations)


def _suite_name(expectation: Any) -> str:
    column = getattr(expectation, "column", None)
    kind = expectation.expectation_type.removeprefix("expect_")
    return f"suite_{kind}_{column}" if column else f"suite_{kind}"
