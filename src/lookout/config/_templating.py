"""dbt-style `{{ env_var('NAME') }}` / `{{ env_var('NAME', 'default') }}` in config strings.

Rendering happens per string value after parsing, so an error names the key path, and a secret
read from the environment never appears in an error message (only the variable's name does).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lookout.config._yaml import KeyPath, LocatedYaml
from lookout.errors import ConfigError, ConfigIssue

__all__ = ["render_env_vars"]

_MISSING = object()


class _MissingEnvVar(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _make_environment(environ: Mapping[str, str]) -> jinja2.Environment:
    def env_var(name: str, default: Any = _MISSING) -> str:
        if name in environ:
            return environ[name]
        if default is _MISSING:
            raise _MissingEnvVar(name)
        return str(default)

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals = {"env_var": env_var}
    return env


def render_env_vars(
    doc: LocatedYaml,
    environ: Mapping[str, str] | None = None,
    *,
    subtree: Any = _MISSING,
    at: KeyPath = (),
) -> Any:
    """A copy of `doc.data` (or of `subtree`, found at key path `at`) with templates rendered."""
    env = _make_environment(os.environ if environ is None else environ)
    issues: list[ConfigIssue] = []

    def render(value: Any, path: KeyPath) -> Any:
        if isinstance(value, dict):
            return {key: render(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [render(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            try:
                return env.from_string(value).render()
            except _MissingEnvVar as missing:
                issues.append(
                    doc.issue(
                        path,
                        f"environment variable {missing.name} is not set "
                        f"(set it, or give a default: env_var('{missing.name}', '...'))",
                    )
                )
            except jinja2.TemplateError as exc:
                issues.append(doc.issue(path, f"bad template: {exc.message or exc}"))
            return value
        return value

    rendered = render(doc.data if subtree is _MISSING else subtree, at)
    if issues:
        raise ConfigError(issues)
    return rendered
