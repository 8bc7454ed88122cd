"""Rules of the house that import-linter cannot state: no private name crosses a module, no
module over 400 lines, no function of the pure core over 60.

A name with a leading underscore is its module's business: another module that needs it gets a
public name (or the code moves). A private module (`config/_yaml.py`) is for its own package.
The package-level rules (layers, no cycles, no adapter in the core) are in `pyproject.toml`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = [ROOT / "src", ROOT / "flows", ROOT / "benchmarks"]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_name(path: Path) -> str:
    base = ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT / "src" / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def private_imports(path: Path, module: str | None = None) -> list[str]:
    """`file:line what` for each private name or module this file imports from elsewhere."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if not target.startswith("lookout."):
                continue
            last = target.rpartition(".")[2]
            if _private(last) and not _is_module(target):
                found.append(f"{where}:{node.lineno} imports {target}")
                continue
            # a private module (or anything inside one) belongs to the package that holds it
            parts = target.split(".")
            for depth, part in enumerate(parts):
                owner = ".".join(parts[:depth])
                if _private(part) and not (module == owner or module.startswith(owner + ".")):
                    found.append(f"{where}:{node.lineno} imports {target}")
                    break
    return found


def test_no_private_name_is_imported_across_modules():
    found = [
        line
        for folder in PRODUCT
        for path in sorted(folder.rglob("*.py"))
        for line in private_imports(path)
    ]
    assert found == []


def test_the_check_finds_a_private_import(tmp_path):
    # the rule must be able to fail: a module outside `lookout.config` reaching into it
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from lookout.config._yaml import load_yaml\n"
        "from lookout.sources.warehouse import _nothing\n"
        "from lookout.config import loader\n"
        "from . import _yaml\n"
    )
    inside = private_imports(probe, "lookout.config.probe")  # config's own private modules
    assert [line.split(" imports ")[1] for line in inside] == ["lookout.sources.warehouse._nothing"]
    found = private_imports(probe, "lookout.sources.probe")
    assert [line.split(" imports ")[1] for line in found] == [
        "lookout.config._yaml.load_yaml",
        "lookout.sources.warehouse._nothing",
        "lookout.sources._yaml",
    ]


# The pure core: metrics, rules, judge parsing, stages. A function longer than this is several
# steps that deserve names (adapters, flows and the CLI are held to the module size only).
CORE = ("core", "model", "alerts", "checks", "stages", "compare", "dialects")
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`file:line name (n lines)` for each function or method of `path` longer than `limit`
    (its decorators, signature and docstring included)."""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    return [
        f"{where}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_core_function_is_longer_than_the_limit():
    found = [
        line
        for package in CORE
        for path in sorted((ROOT / "src" / "lookout" / package).rglob("*.py"))
        for line in long_functions(path)
    ]
    assert found == []


def test_no_module_is_longer_than_the_limit():
    # one job per module: the warehouse reader (900 lines), the config models (1,170) and the
    # results store (892) were each one module before they were split
    found = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in sorted((ROOT / "src" / "lookout").rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert found == []


def test_the_length_check_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(path) == [f"long.py:5 long ({MAX_FUNCTION_LINES + 1} lines)"]
