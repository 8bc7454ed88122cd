"""YAML loading that remembers where every key came from.

Config errors must name the file, the key path and the line, so the loader keeps a map from
key paths to (line, column) taken from PyYAML's node tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lookout.errors import ConfigError, ConfigIssue

__all__ = ["KeyPath", "LocatedYaml", "format_path", "load_located_yaml"]

KeyPath = tuple[str | int, ...]


def format_path(path: KeyPath) -> str:
    """Render a key path the way users write it: `monitors[0].rules[2].threshold`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class LocatedYaml:
    """Parsed YAML data plus the source position of every mapping key and sequence item."""

    def __init__(self, file: str, data: Any, positions: dict[KeyPath, tuple[int, int]]) -> None:
        self.file = file
        self.data = data
        self._positions = positions

    def locate(self, path: KeyPath) -> tuple[int | None, int | None]:
        """Line and column (1-based) of `path`, or of its nearest ancestor that exists."""
        probe = tuple(path)
        while probe:
            if probe in self._positions:
                return self._positions[probe]
            probe = probe[:-1]
        return (None, None)

    def issue(self, path: KeyPath, message: str) -> ConfigIssue:
        line, column = self.locate(path)
        return ConfigIssue(self.file, format_path(path), message, line, column)


def _walk(node: yaml.Node, path: KeyPath, positions: dict[KeyPath, tuple[int, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, positions)


def load_located_yaml(path: Path) -> LocatedYaml:
    """Read a YAML file; syntax errors become a ConfigError with line and column."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(path), "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read file: {exc}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        issue = ConfigIssue(name, "", f"YAML syntax error: {problem}", line, column)
        raise ConfigError([issue]) from None
    positions: dict[KeyPath, tuple[int, int]] = {}
    if node is not None:
        _walk(node, (), positions)
    return LocatedYaml(name, data, positions)
