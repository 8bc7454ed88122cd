"""What pydantic cannot check in monitors.yml: references across keys, checked after it.

Owners named by monitors and rules are declared; release and cohort fields that are canonical
are mapped, and so are fields given a unit; `split_by` names cohorts; rule metrics are known to
the metric family registry, pool only when they can and span whole windows; expectations name
real columns, are critical only where rows can be quarantined, and `validation.<name>` metrics
name one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from lookout.config._yaml import KeyPath, LocatedYaml
from lookout.config.drift_columns import drift_columns, groups_of, known_column_names
from lookout.config.models import AlertRule, Monitor, MonitorsFile
from lookout.config.validation import ROW_LEVEL_KINDS, default_suite, spec_name
from lookout.core.durations import format_duration
from lookout.errors import ConfigIssue
from lookout.model.families.registry import FAMILIES
from lookout.model.record import CANONICAL_FIELDS

__all__ = ["monitor_issues"]


def _semantic_issues(
    doc: LocatedYaml, config: MonitorsFile, indexed: list[tuple[int, Monitor]]
) -> list[ConfigIssue]:
    """Cross-references pydantic cannot see: owners, release fields, cohort columns."""
    issues: list[ConfigIssue] = []
    owners = ", ".join(sorted(config.owners)) or "none declared"
    for m_index, monitor in indexed:
        base: KeyPath = ("monitors", m_index)
        source = monitor.source
        for r_index, field in enumerate(source.release):
            # a canonical field must be mapped; any other name is a column of the table
            # (`release: [model_name, app_version]`), checked against it with --check-warehouse
            if field in CANONICAL_FIELDS and not source.maps(field):
                issues.append(
                    doc.issue(
                        (*base, "source", "release", r_index),
                        f"release field {field!r} is a canonical field but is not mapped in "
                        "source.columns (map it, or name a column of the table)",
                    )
                )
        for field in source.units:
            if field not in source.columns:
                issues.append(
                    doc.issue(
                        (*base, "source", "units", field),
                        f"{field!r} has a unit but is not mapped in source.columns",
                    )
                )
        for c_index, cohort in enumerate(source.cohorts):
            if cohort in CANONICAL_FIELDS and not source.maps(cohort):
                issues.append(
                    doc.issue(
                        (*base, "source", "cohorts", c_index),
                        f"cohort {cohort!r} is a canonical field but is not mapped in columns",
                    )
                )
        if monitor.owner is not None and monitor.owner not in config.owners:
            issues.append(
                doc.issue((*base, "owner"), f"unknown owner {monitor.owner!r} (owners: {owners})")
            )
        for r_index, rule in enumerate(monitor.rules):
            rule_path: KeyPath = (*base, "rules", r_index)
            if not FAMILIES.known(rule.metric):
                issues.append(
                    doc.issue(
                        (*rule_path, "metric"),
                        f"unknown metric {rule.metric!r}; known: {', '.join(FAMILIES.names())}",
                    )
                )
            issues += _rule_timing_issues(doc, rule_path, rule, monitor)
            issues += _named_metric_issues(doc, rule_path, rule, monitor)
            if rule.owner not in config.owners:
                issues.append(
                    doc.issue(
                        (*rule_path, "owner"), f"unknown owner {rule.owner!r} (owners: {owners})"
                    )
                )
            for s_index, dim in enumerate(rule.split_by or []):
                if dim != "*" and dim not in source.cohorts:
                    known = ", ".join(source.cohorts) or "none"
                    issues.append(
                        doc.issue(
                            (*rule_path, "split_by", s_index),
                            f"{dim!r} is not '*' nor one of source.cohorts ({known})",
                        )
                    )
    return issues


def _rule_timing_issues(
    doc: LocatedYaml, rule_path: KeyPath, rule: AlertRule, monitor: Monitor
) -> list[ConfigIssue]:
    """`over` and `max_over` are whole windows; pooling needs a metric that pools."""
    issues: list[ConfigIssue] = []
    size = monitor.window.size
    for key, span in (("over", rule.over), ("max_over", rule.max_over)):
        if span is None or span == "auto":
            continue
        if span < size or span % size:
            issues.append(
                doc.issue(
                    (*rule_path, key),
                    f"{key} must be a whole number of windows ({format_duration(size)} each), "
                    f"got {format_duration(span)}",
                )
            )
    if rule.reference is not None and rule.reference.hours == "same" and size >= timedelta(1):
        issues.append(
            doc.issue(
                (*rule_path, "reference", "hours"),
                f"hours: same needs windows shorter than a day (the windows are "
                f"{format_duration(size)})",
            )
        )
    pooled = rule.over not in (None, "auto") and rule.over > size
    if pooled and FAMILIES.known(rule.metric) and not FAMILIES.poolable(rule.metric):
        issues.append(
            doc.issue(
                (*rule_path, "over"),
                f"{rule.metric} is not pooled over windows (drift pools over drift.period); "
                "remove `over`",
            )
        )
    return issues


def _named_metric_issues(
    doc: LocatedYaml, at: KeyPath, rule: AlertRule, monitor: Monitor
) -> list[ConfigIssue]:
    """`drift.<name>` and `drift_score.<name>` name a column drift compares here (`drift.` also
    a group of several, `drift.output`), `status_rate.<name>` a configured rate: a rule on one
    that never exists never fires, and said nothing (a trial's `drift.context`, whose one
    member is `context_length`)."""
    if rule.metric.startswith("status_rate."):  # the same for a status rate not configured
        name, rated = rule.metric.removeprefix("status_rate."), monitor.source.status_rates
        listed = ", ".join(f"status_rate.{n}" for n in rated) or "none (set source.status_rates)"
        why = f"source.status_rates has no {name!r}; known: {listed}"
        return [] if name in rated else [doc.issue((*at, "metric"), why)]
    for prefix in ("drift.", "drift_score."):
        if not rule.metric.startswith(prefix):
            continue
        name = rule.metric.removeprefix(prefix)
        columns = drift_columns(monitor)
        names = [c.name for c in columns]
        groups = [
            g for g, members in groups_of(columns).items() if len(members) > 1 and g not in names
        ]
        known = [*names, *groups] if prefix == "drift." else names
        if name in known:
            return []
        listed = ", ".join(f"{prefix}{n}" for n in known) or "none (no column is compared)"
        return [doc.issue((*at, "metric"), f"drift compares no {name!r} here; known: {listed}")]
    return []


def _validation_issues(
    doc: LocatedYaml, monitor: Monitor, base: KeyPath, base_dir: Path
) -> tuple[list[ConfigIssue], set[str]]:
    """Expectations name real columns, critical only where rows can be quarantined, unique
    names; returns the expectation names rules may refer to as `validation.<name>`."""
    issues: list[ConfigIssue] = []
    config = monitor.validation
    source = monitor.source
    columns = set(source.fields) | set(source.cohorts) | set(source.release)
    columns |= set(source.json_fields)  # a value inside JSON, by its name
    columns_ = source.fields
    named = [*source.release, *source.cohorts, *source.json_fields]
    extra = [c for c in dict.fromkeys(named) if c not in columns_]
    known = ", ".join([*source.columns, *source.durations, *extra])
    seen: set[str] = set()
    for e_index, spec in enumerate(config.expectations):
        at: KeyPath = (*base, "validation", "expectations", e_index)
        name = spec_name(spec)
        if name in seen:
            issues.append(doc.issue((*at, "name"), f"expectation name {name!r} is used twice"))
        seen.add(name)
        column = getattr(spec, "column", None)
        if column is not None and column not in columns:
            issues.append(
                doc.issue((*at, "column"), f"{column!r} is not a mapped field or cohort ({known})")
            )
        if spec.severity == "critical" and spec.kind not in ROW_LEVEL_KINDS:
            issues.append(
                doc.issue(
                    (*at, "severity"),
                    f"only row-level expectations can be critical (they quarantine rows); "
                    f"{spec.kind!r} checks the whole batch",
                )
            )
    if not config.expectations:
        seen = {
            spec_name(s)
            for s in default_suite(set(source.fields), list(source.release), config.statuses)
        }
    if config.suite_file and not (base_dir / config.suite_file).exists():
        issues.append(
            doc.issue(
                (*base, "validation", "suite_file"),
                f"file not found: {base_dir / config.suite_file}",
            )
        )
    return issues, seen


def _drift_issues(doc: LocatedYaml, monitor: Monitor, base: KeyPath) -> list[ConfigIssue]:
    """`drift.columns` and `drift.exclude` name columns drift compares (a name it does not know
    would be dropped without a word, and the team would believe it watched); `drift.features`
    names table columns, not fields or cohorts already compared."""
    issues: list[ConfigIssue] = []
    config = monitor.drift
    source = monitor.source
    taken = set(CANONICAL_FIELDS) | set(source.cohorts)
    for kind in ("numeric", "categorical"):
        for index, name in enumerate(getattr(config.features, kind)):
            if name in taken:
                what = "a cohort" if name in source.cohorts else "a canonical field"
                issues.append(
                    doc.issue(
                        (*base, "drift", "features", kind, index),
                        f"{name!r} is {what}, compared already when mapped; features name "
                        "other columns of the table",
                    )
                )
    known = known_column_names(monitor)
    listed = ", ".join(known) or "none"
    for key in ("columns", "exclude"):
        for index, name in enumerate(getattr(config, key)):
            if name not in known:
                issues.append(
                    doc.issue(
                        (*base, "drift", key, index),
                        f"drift compares no column {name!r} (it compares: {listed}); a column "
                        "of the table goes under drift.features.numeric or .categorical",
                    )
                )
    return issues


def monitor_issues(
    doc: LocatedYaml, config: MonitorsFile, indexed: list[tuple[int, Monitor]], base_dir: Path
) -> list[ConfigIssue]:
    """Cross-references and expectations of the monitors in `indexed` (index in the file)."""
    issues = _semantic_issues(doc, config, indexed)
    for m_index, monitor in indexed:
        base: KeyPath = ("monitors", m_index)
        found, names = _validation_issues(doc, monitor, base, base_dir)
        issues.extend(found)
        issues += _drift_issues(doc, monitor, base)
        for r_index, rule in enumerate(monitor.rules):
            if not rule.metric.startswith("validation."):
                continue
            name = rule.metric.removeprefix("validation.")
            if name not in names and not (
                monitor.validation.suite_file and name.startswith("suite_")
            ):
                listed = ", ".join(sorted(names)) or "none"
                issues.append(
                    doc.issue(
                        (*base, "rules", r_index, "metric"),
                        f"no expectation named {name!r} (expectations: {listed})",
                    )
                )
    return issues
