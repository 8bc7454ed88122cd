"""Load and check `profiles.yml` and `monitors.yml`, reporting every problem with its location.

Errors look like `monitors.yml:14:9: monitors[0].rules[2].threshold: expected a number`, so
`lookout validate-config` output can be clicked through in an editor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import make_url

from lookout.config._routes import (
    MONITORS_SECRETS,
    PROFILES_SECRETS,
    literal_secret_issues,
    owner_key_message,
    route_target_issues,
)
from lookout.config._templating import render_env_vars
from lookout.config._yaml import KeyPath, LocatedYaml, load_located_yaml
from lookout.config.models import AlertRule, Monitor, MonitorsFile, ProfilesFile, Target
from lookout.config.validation import KINDS, ROW_LEVEL_KINDS, default_suite, spec_name
from lookout.errors import ConfigError, ConfigIssue
from lookout.model.record import CANONICAL_FIELDS
from lookout.stages.registry import FAMILIES

__all__ = ["LookoutConfig", "load_config", "load_model", "load_monitors", "load_profiles"]

_FRIENDLY = {
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number (not .nan or .inf)",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "datetime_parsing": "expected a date-time like 2026-11-02T00:00:00Z",
    "union_tag_invalid": "unknown expectation kind",
    "union_tag_not_found": "missing `kind` (the expectation's type)",
    "datetime_from_date_parsing": "expected a date-time like 2026-11-02T00:00:00Z",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"unknown expectation kind {tag!r}; known: {', '.join(KINDS)}"
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return message


def _issues_from_validation(doc: LocatedYaml, exc: ValidationError) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        path: KeyPath = tuple(
            part
            for index, part in enumerate(loc)
            if not _is_union_tag(part)
            # discriminated unions add the `kind` tag after the list index
            and not (part in KINDS and index and isinstance(loc[index - 1], int))
        )
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "kind")
        message = _message(error)
        if error["type"] == "extra_forbidden" and len(path) == 3 and path[0] == "owners":
            message = owner_key_message(path[2])
        issue = doc.issue(path, message)
        if str(issue) not in {str(i) for i in issues}:  # union branches repeat themselves
            issues.append(issue)
    return issues


def _is_union_tag(part: object) -> bool:
    # pydantic adds the branch name of a union (e.g. 'function-after[...]') into `loc`.
    return isinstance(part, str) and (
        "[" in part or part in {"str", "int", "float", "bool", "none"}
    )


def _validate(doc: LocatedYaml, data: Any, model: type[Any]) -> Any:
    if not isinstance(data, dict):
        raise ConfigError([doc.issue((), "expected a mapping at the top level")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_issues_from_validation(doc, exc)) from None


def load_model(path: Path, model: type[Any]) -> Any:
    """Any YAML file as a pydantic model, errors as `file:line:col: key.path: message`."""
    doc = load_located_yaml(path)
    return _validate(doc, doc.data, model)


def load_profiles(
    path: Path, target: str | None = None, environ: Mapping[str, str] | None = None
) -> Target:
    """The chosen target of profiles.yml (`target` overrides the file's `target:` key)."""
    return _load_profiles(path, target, environ)[1]


def _load_profiles(
    path: Path, target: str | None, environ: Mapping[str, str] | None
) -> tuple[str, Target]:
    """The chosen target's name and settings."""
    doc = load_located_yaml(path)
    raw = doc.data
    if not isinstance(raw, dict):
        raise ConfigError([doc.issue((), "expected a mapping at the top level")])
    # every output, chosen or not: a secret written in the file is there for all to read
    literal = literal_secret_issues(doc, PROFILES_SECRETS)
    try:
        name, settings = _chosen_target(doc, raw, target, environ)
    except ConfigError as exc:
        raise ConfigError(_with_secret_issues(literal, exc.issues)) from None
    if literal:
        raise ConfigError(literal)
    return name, resolve_paths(settings, path.absolute().parent)


def resolve_paths(target: Target, base: Path) -> Target:
    """`target` with its relative paths made absolute against `base` (the directory of the
    profiles.yml that names them), so a command finds the same store and reports from any
    working directory; bare `postgresql://` and `mysql://` get the pip extra's driver."""
    from lookout.drivers import default_driver

    def url(value: str) -> str:
        parsed = make_url(default_driver(value))
        database = parsed.database or ""
        local = parsed.get_backend_name() in ("sqlite", "duckdb")
        if not local or database in ("", ":memory:") or database.startswith(_NOT_A_PATH):
            return parsed.render_as_string(hide_password=False)
        if Path(database).is_absolute():
            return parsed.render_as_string(hide_password=False)
        return parsed.set(database=str(base / database)).render_as_string(hide_password=False)

    out_dir = target.out_dir if Path(target.out_dir).is_absolute() else str(base / target.out_dir)
    warehouse = target.warehouse.model_copy(
        update={"url": SecretStr(url(target.warehouse.url.get_secret_value()))}
    )
    store = target.store.model_copy(
        update={"url": SecretStr(url(target.store.url.get_secret_value()))}
    )
    return target.model_copy(update={"warehouse": warehouse, "store": store, "out_dir": out_dir})


# SQLite URIs and DuckDB's remote databases are not paths on this machine
_NOT_A_PATH = ("file:", "md:", "motherduck:", "s3://", "http://", "https://")


def _with_secret_issues(secrets: list[ConfigIssue], others: list[ConfigIssue]) -> list[ConfigIssue]:
    """Every problem found, once per key path (a literal secret also fails its format check)."""
    taken = {issue.path for issue in secrets}
    return secrets + [issue for issue in others if issue.path not in taken]


def _chosen_target(
    doc: LocatedYaml, raw: dict[str, Any], target: str | None, environ: Mapping[str, str] | None
) -> tuple[str, Target]:
    # Like dbt, only the chosen target is rendered: prod's env vars need not exist in dev.
    env = environ if environ is not None else os.environ
    chosen = (
        target
        or env.get("LOOKOUT_TARGET")
        or render_env_vars(doc, environ, subtree=raw.get("target"), at=("target",))
    )
    if chosen is not None and not isinstance(chosen, str):
        raise ConfigError(
            [
                doc.issue(
                    ("target",),
                    f"expected the name of one of outputs (a string), got {_kind(chosen)}",
                )
            ]
        )
    outputs = raw.get("outputs")
    data = dict(raw, target=chosen)
    if isinstance(outputs, dict) and chosen not in outputs:
        known = ", ".join(sorted(map(str, outputs))) or "none"
        raise ConfigError(
            [doc.issue(("target",), f"target {chosen!r} is not among outputs ({known})")]
        )
    if isinstance(outputs, dict):
        rendered = render_env_vars(
            doc, environ, subtree=outputs[chosen], at=("outputs", str(chosen))
        )
        data["outputs"] = {chosen: rendered}
    profiles: ProfilesFile = _validate(doc, data, ProfilesFile)
    return profiles.target, profiles.outputs[profiles.target]


def _kind(value: object) -> str:
    """What a YAML value is, in the words of a config file."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number (quote it to make it a name)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date):
        return "a date (quote it to make it a name)"
    return f"a {type(value).__name__}"


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
            if field in CANONICAL_FIELDS and field not in source.columns:
                issues.append(
                    doc.issue(
                        (*base, "source", "release", r_index),
                        f"release field {field!r} is a canonical field but is not mapped in "
                        "source.columns (map it, or name a column of the table)",
                    )
                )
        for c_index, cohort in enumerate(source.cohorts):
            if cohort in CANONICAL_FIELDS and cohort not in source.columns:
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
                    f"{key} must be a whole number of windows ({_span(size)} each), "
                    f"got {_span(span)}",
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


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def _validation_issues(
    doc: LocatedYaml, monitor: Monitor, base: KeyPath, base_dir: Path
) -> tuple[list[ConfigIssue], set[str]]:
    """Expectations name real columns, critical only where rows can be quarantined, unique
    names; returns the expectation names rules may refer to as `validation.<name>`."""
    issues: list[ConfigIssue] = []
    config = monitor.validation
    source = monitor.source
    columns = set(source.columns) | set(source.cohorts) | set(source.release)
    columns_ = source.columns
    extra = [c for c in dict.fromkeys([*source.release, *source.cohorts]) if c not in columns_]
    known = ", ".join([*source.columns, *extra])
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
            for s in default_suite(set(source.columns), list(source.release), config.statuses)
        }
    if config.suite_file and not (base_dir / config.suite_file).exists():
        issues.append(
            doc.issue(
                (*base, "validation", "suite_file"),
                f"file not found: {base_dir / config.suite_file}",
            )
        )
    return issues, seen


def load_monitors(path: Path, environ: Mapping[str, str] | None = None) -> MonitorsFile:
    return _load_monitors(path, environ)[1]


def _load_monitors(
    path: Path, environ: Mapping[str, str] | None
) -> tuple[LocatedYaml, MonitorsFile]:
    """The file as parsed (positions, for checks against the profile) and as validated.

    Every problem in one pass: when some monitors do not validate, the cross-reference checks
    still run on those that do (with their own indices), so a fix never reveals a new round.
    """
    doc = load_located_yaml(path)
    literal = literal_secret_issues(doc, MONITORS_SECRETS)  # before rendering: the raw text
    data: Any = None
    try:
        data = render_env_vars(doc, environ)
        config: MonitorsFile = _validate(doc, data, MonitorsFile)
    except ConfigError as exc:
        partial = _partial_monitors(data)
        more = _checks(doc, *partial, path.parent) if partial is not None else []
        seen = {str(issue) for issue in exc.issues}
        found = exc.issues + [i for i in more if str(i) not in seen]
        raise ConfigError(_with_secret_issues(literal, found)) from None
    if literal:
        raise ConfigError(literal)
    issues = _checks(doc, config, list(enumerate(config.monitors)), path.parent)
    if issues:
        raise ConfigError(issues)
    return doc, config


def _partial_monitors(data: Any) -> tuple[MonitorsFile, list[tuple[int, Monitor]]] | None:
    """The owners and the monitors that validate on their own, for the cross-reference checks
    of a file that failed validation elsewhere; None when there is nothing to check."""
    if not isinstance(data, dict) or not isinstance(data.get("monitors"), list):
        return None
    valid: list[tuple[int, Monitor]] = []
    for index, item in enumerate(data["monitors"]):
        try:
            valid.append((index, Monitor.model_validate(item)))
        except (ValidationError, ValueError, TypeError):
            continue
    raw_owners = data.get("owners")
    owners = dict.fromkeys(raw_owners, None) if isinstance(raw_owners, dict) else {}
    if not valid:
        return None
    return MonitorsFile.model_construct(owners=owners, monitors=[m for _, m in valid]), valid


def _checks(
    doc: LocatedYaml, config: MonitorsFile, indexed: list[tuple[int, Monitor]], base_dir: Path
) -> list[ConfigIssue]:
    """Cross-references and expectations of the monitors in `indexed` (index in the file)."""
    issues = _semantic_issues(doc, config, indexed)
    for m_index, monitor in indexed:
        base: KeyPath = ("monitors", m_index)
        found, names = _validation_issues(doc, monitor, base, base_dir)
        issues.extend(found)
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


@dataclass(frozen=True)
class LookoutConfig:
    """Both files loaded: the active target and the monitors."""

    target: Target
    monitors: MonitorsFile
    # where monitors.yml lives: relative paths in it (validation.suite_file) start there
    monitors_dir: Path = Path(".")
    target_name: str = ""  # the profile target chosen (`--target`, LOOKOUT_TARGET, `target:`)

    def monitor(self, name: str) -> Monitor:
        return self.monitors.monitor(name)


def load_config(
    profiles_path: Path,
    monitors_path: Path,
    *,
    target: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LookoutConfig:
    """Load both files; problems in either are reported together in one ConfigError, and
    then whether the owners' routes have their channels' settings in the chosen target."""
    issues: list[ConfigIssue] = []
    profile: tuple[str, Target] | None = None
    monitors: tuple[LocatedYaml, MonitorsFile] | None = None
    try:
        profile = _load_profiles(profiles_path, target, environ)
    except ConfigError as exc:
        issues.extend(exc.issues)
    try:
        monitors = _load_monitors(monitors_path, environ)
    except ConfigError as exc:
        issues.extend(exc.issues)
    if issues or profile is None or monitors is None:
        raise ConfigError(issues)
    (target_name, settings), (doc, monitors_file) = profile, monitors
    issues = route_target_issues(doc, monitors_file, settings, target_name)
    if issues:
        raise ConfigError(issues)
    return LookoutConfig(settings, monitors_file, monitors_path.parent, target_name)
