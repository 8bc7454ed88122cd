"""dbt-style `{{ env_var('NAME') }}` / `{{ env_var('NAME', 'default') }}` in config strings.

Rendering happens per string value after parsing, so an error names the key path, and a secret
read from the environment never appears in an error message (only the variable's name does).
Only those two forms are accepted: any other Jinja (`{{ 'a' * 10**10 }}`, loops, filters) is
refused before it runs, so a config string cannot hang or exhaust memory while rendering.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lookout.config._yaml import KeyPath, LocatedYaml
from lookout.errors import ConfigError, ConfigIssue

__all__ = ["env_var_only", "render_env_vars"]

_MISSING = object()
ONLY_ENV_VAR = "only {{ env_var('NAME') }} and {{ env_var('NAME', 'default') }} are supported"


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


def _only_env_var(template: nodes.Template) -> bool:
    """The template is text and `env_var(<string>[, <constant>])` outputs, nothing else."""
    for output in template.body:
        if not isinstance(output, nodes.Output):
            return False
        for part in output.nodes:
            if isinstance(part, nodes.TemplateData):
                continue
            call = part
            if not (
                isinstance(call, nodes.Call)
                and isinstance(call.node, nodes.Name)
                and call.node.name == "env_var"
                and 1 <= len(call.args) <= 2
                and all(isinstance(arg, nodes.Const) for arg in call.args)
                and isinstance(call.args[0], nodes.Const)
                and isinstance(call.args[0].value, str)
                and not (call.kwargs or call.dyn_args or call.dyn_kwargs)
            ):
                return False
    return True


def env_var_only(value: object) -> bool | None:
    """Whether a raw (unrendered) config value is nothing but one `{{ env_var('NAME') }}`
    (an empty default allowed), as a secret must be: a default or any literal text around it
    would put (part of) the secret in the file. None: not a template that parses (rendering
    reports that)."""
    if not isinstance(value, str):
        return False
    try:
        parsed = jinja2.Environment().parse(value.strip())
    except jinja2.TemplateSyntaxError:
        return None
    if len(parsed.body) != 1 or not isinstance(parsed.body[0], nodes.Output):
        return False
    parts = parsed.body[0].nodes
    if len(parts) != 1 or not isinstance(parts[0], nodes.Call) or not _only_env_var(parsed):
        return False  # literal text, or text around the call
    args = parts[0].args
    return len(args) == 1 or (isinstance(args[1], nodes.Const) and args[1].value == "")


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
                parsed = env.parse(value)
                if not _only_env_var(parsed):
                    issues.append(doc.issue(path, f"bad template: {ONLY_ENV_VAR}"))
                    return value
                return env.from_string(parsed).render()
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
