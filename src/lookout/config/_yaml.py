"""YAML loading that remembers where every key came from, and refuses what could blow up.

Config errors must name the file, the key path and the line, so the loader keeps a map from
key paths to (line, column) taken from PyYAML's node tree. The text is parsed once: composed
into nodes (positions) and constructed into data from those same nodes.

Refused, each with its `file:line:col`:
- aliases (`*name`, also in merge keys `<<: *name`): seven nested anchors in a 1.8 kB file expand
  to billions of nodes ("billion laughs"), which took 20 s and then a MemoryError;
- nesting deeper than `MAX_DEPTH` (PyYAML composes recursively: a RecursionError otherwise);
- a key given twice in one mapping (YAML keeps the last one and silently drops the first);
- files over `MAX_BYTES`, bytes that are not UTF-8, characters YAML does not allow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from lookout.errors import ConfigError, ConfigIssue

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "KeyPath",
    "LocatedYaml",
    "format_path",
    "load_located_yaml",
    "parse_path",
]

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 64  # mappings and lists inside each other; real configs use fewer than 10
MAX_BYTES = 5_000_000  # a config file this big is a mistake (and would parse for seconds)

ALIAS_REFUSED = (
    "YAML aliases (*{name}) are not supported: an alias can expand a small file into a huge "
    "one; write the value out again instead"
)


def parse_path(text: str) -> KeyPath:
    """`monitors[0].rules[2].threshold` as a key path (the inverse of `format_path`)."""
    path: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        path.append(int(index) if index else name)
    return tuple(path)


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


class _Refused(ComposerError):
    """Something the loader will not compose (an alias, too deep a nesting)."""


class _BadValue(ConstructorError):
    """A scalar PyYAML could not construct (raised as a bare Python error, given a mark)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses alias events and caps nesting while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(None, None, ALIAS_REFUSED.format(name=event.anchor), event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML lets a bad scalar escape as a bare ValueError, KeyError, IndexError...
        (`2026-13-01`, `!!int abc`, an int of 5,000 digits): give them the node's position."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            problem = f"cannot read this value as {tag} ({type(exc).__name__})"
            raise _BadValue(None, None, problem, node.start_mark) from None


_MERGE = "tag:yaml.org,2002:merge"


class _Walk:
    """Positions of every key and item of a node tree, and the keys given twice."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.duplicates: list[tuple[KeyPath, yaml.Mark]] = []

    def walk(self, node: yaml.Node, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                    continue  # unhashable keys: construction refuses them
                key = self.loader.construct_object(key_node)
                if key in seen:
                    self.duplicates.append(((*path, key), key_node.start_mark))
                seen.add(key)
                mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                self.positions[(*path, key)] = mark  # the key as read (`1:` is the int 1)
                self.positions.setdefault((*path, key_node.value), mark)  # and as written
                self.walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
                self.walk(item, child)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(path), "", "file not found")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read file: {reason}")]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(
            [ConfigIssue(path.name, "", f"file is over {MAX_BYTES:,} bytes ({len(raw):,})")]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, column = _line_col(before, len(before))
        issue = ConfigIssue(path.name, "", "not UTF-8 text", line, column)
        raise ConfigError([issue]) from None


def load_located_yaml(path: Path) -> LocatedYaml:
    """Read a YAML file; syntax errors and refused constructs become a ConfigError with line
    and column."""
    name = path.name
    data, walked = _parse(name, _read(path))
    if walked.duplicates:
        raise ConfigError(
            [
                ConfigIssue(
                    name,
                    format_path(key_path),
                    "key given twice in one mapping (YAML would keep only the last)",
                    mark.line + 1,
                    mark.column + 1,
                )
                for key_path, mark in walked.duplicates
            ]
        )
    return LocatedYaml(name, data, walked.positions)


def _parse(name: str, text: str) -> tuple[Any, _Walk]:
    """One pass: the node tree (for positions) and the data constructed from it."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # checks every character up front
        node = loader.get_single_node()
        walked = _Walk(loader)
        if node is not None:
            walked.walk(node, ())  # before construction flattens merge keys (`<<`) in place
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = exc.problem or "invalid YAML"
        if not isinstance(exc, _Refused | _BadValue):
            problem = f"YAML syntax error: {problem}"
        raise ConfigError([ConfigIssue(name, "", problem, line, column)]) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_col(text, exc.position)
        char = exc.character  # the code point (an int) for text input
        code = char if isinstance(char, int) else ord(char)
        problem = f"YAML does not allow the character U+{code:04X}"
        raise ConfigError([ConfigIssue(name, "", problem, line, column)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, walked
