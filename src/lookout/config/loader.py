"""Load and check `profiles.yml` and `monitors.yml`, reporting every problem with its location.

Errors look like `monitors.yml:14:9: monitors[0].rules[2].threshold: expected a number`, so
`lookout validate-config` output can be clicked through in an editor. pydantic's errors are
worded by `_errors.py`; what pydantic cannot check (owners, rule metrics against the metric
family registry, expectations) is `_crosschecks.py`'s, and the owners' routes `_routes.py`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import make_url

from lookout.config._crosschecks import monitor_issues
from lookout.config._errors import validate_model
from lookout.config._routes import (
    MONITORS_SECRETS,
    PROFILES_SECRETS,
    literal_secret_issues,
    route_target_issues,
)
from lookout.config._templating import render_env_vars
from lookout.config._yaml import LocatedYaml, load_located_yaml, parse_path
from lookout.config.models import Monitor, MonitorsFile, Owner, ProfilesFile, Target
from lookout.errors import ConfigError, ConfigIssue

__all__ = [
    "LookoutConfig",
    "load_config",
    "load_model",
    "load_monitors",
    "load_profiles",
    "locate_key",
]


def load_model(path: Path, model: type[Any], context: dict[str, Any] | None = None) -> Any:
    """Any YAML file as a pydantic model, errors as `file:line:col: key.path: message`;
    `context` is handed to the model's validators (what a file is checked against)."""
    doc = load_located_yaml(path)
    return validate_model(doc, doc.data, model, context)


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
    profiles: ProfilesFile = validate_model(doc, data, ProfilesFile)
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


def load_monitors(path: Path, environ: Mapping[str, str] | None = None) -> MonitorsFile:
    return _load_monitors(path, environ)[1]


class _MonitorsFailed(ConfigError):
    """monitors.yml did not validate; what still can be checked against the profile rides
    along: the parsed file (positions) and the owners that validate on their own."""

    def __init__(
        self, issues: list[ConfigIssue], doc: LocatedYaml | None, owners: MonitorsFile | None
    ) -> None:
        super().__init__(issues)
        self.doc = doc
        self.owners = owners


def _load_monitors(
    path: Path, environ: Mapping[str, str] | None
) -> tuple[LocatedYaml, MonitorsFile]:
    """The file as parsed (positions, for checks against the profile) and as validated.

    Every problem in one pass: when some monitors do not validate, the cross-reference checks
    still run on those that do (with their own indices), and the owners that validate are
    handed on for the checks against the profile, so a fix never reveals a new round.
    """
    doc = load_located_yaml(path)
    literal = literal_secret_issues(doc, MONITORS_SECRETS)  # before rendering: the raw text
    data: Any = None
    try:
        data = render_env_vars(doc, environ)
        config: MonitorsFile = validate_model(doc, data, MonitorsFile)
    except ConfigError as exc:
        partial = _partial_monitors(data)
        more = monitor_issues(doc, *partial, path.parent) if partial is not None else []
        seen = {str(issue) for issue in exc.issues}
        found = exc.issues + [i for i in more if str(i) not in seen]
        issues = _with_secret_issues(literal, found)
        raise _MonitorsFailed(issues, doc, _valid_owners(data)) from None
    if literal:
        raise ConfigError(literal)
    issues = monitor_issues(doc, config, list(enumerate(config.monitors)), path.parent)
    if issues:
        raise _MonitorsFailed(issues, doc, config)
    return doc, config


def _valid_owners(data: Any) -> MonitorsFile | None:
    """The owners of a file that failed validation that validate on their own (their routes
    can still be checked against the profile), or None when there are none."""
    raw = data.get("owners") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return None
    owners = {}
    for name, item in raw.items():
        try:
            owners[str(name)] = Owner.model_validate(item)
        except (ValidationError, ValueError, TypeError):
            continue
    return MonitorsFile.model_construct(owners=owners, monitors=[]) if owners else None


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
    except _MonitorsFailed as exc:
        issues.extend(exc.issues)
        # the owners that validate are still checked against a profile that loaded, so a
        # route without its channel's settings shows in the same round as the file's errors
        if profile is not None and exc.doc is not None and exc.owners is not None:
            issues.extend(route_target_issues(exc.doc, exc.owners, profile[1], profile[0]))
    except ConfigError as exc:
        issues.extend(exc.issues)
    if issues or profile is None or monitors is None:
        raise ConfigError(issues)
    (target_name, settings), (doc, monitors_file) = profile, monitors
    issues = route_target_issues(doc, monitors_file, settings, target_name)
    if issues:
        raise ConfigError(issues)
    return LookoutConfig(settings, monitors_file, monitors_path.parent, target_name)


def locate_key(path: Path, key_path: str) -> tuple[int | None, int | None]:
    """Line and column of `key_path` (`monitors[0].source.where`, or its nearest ancestor
    written in the file) in a config file; (None, None) when the file cannot be read."""
    try:
        return load_located_yaml(path).locate(parse_path(key_path))
    except (ConfigError, OSError):
        return (None, None)
