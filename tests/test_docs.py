"""The documentation: every config key documented, the generated page stable, links valid.

The configuration reference is generated from the pydantic models by the MkDocs hook
`docs/gen_config_reference.py`; a key without a `Field(description=...)` fails here instead of
shipping undocumented.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

import lookout.compare.gate
import lookout.config.models
import lookout.config.validation
from lookout.config.reference import key_cell, sections

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "gen_config_reference.py"
# the models package's own modules (each class is defined in one of them), then the others
MODEL_MODULES = tuple(
    importlib.import_module(info.name)
    for info in pkgutil.iter_modules(lookout.config.models.__path__, "lookout.config.models.")
)
CONFIG_MODULES = (*MODEL_MODULES, lookout.config.validation, lookout.compare.gate)


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config_models() -> list[type[BaseModel]]:
    """Every public model class of the config modules that is not only a base of others."""
    found = [
        cls
        for module in CONFIG_MODULES
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseModel)
        and cls.__module__ == module.__name__
        and not name.startswith("_")
    ]
    return [cls for cls in found if not any(o is not cls and issubclass(o, cls) for o in found)]


def test_every_config_key_is_in_the_reference_with_a_description() -> None:
    hook = _hook()
    page = hook.markdown()
    rendered = [s for file in hook.FILES for s in sections(file.root, file.slug)]
    missing: list[str] = []
    for model in _config_models():
        where = [s for s in rendered if s.model is model]
        if not where:
            missing.append(f"{model.__name__}: not reachable from any documented file")
            continue
        expected = {field.alias or name for name, field in model.model_fields.items()}
        for section in where:
            shown = {row.key.rsplit(".", 1)[-1] for row in section.rows}
            where_name = section.key or model.__name__
            missing += [f"{where_name}: {key} has no row" for key in expected - shown]
            for row in section.rows:
                if not row.description.strip():
                    missing.append(f"{row.key} ({model.__name__}): no description")
                line = f"| {key_cell(row.key)} | {row.type} | {row.default} | {row.description} |"
                if line not in page:
                    missing.append(f"{row.key}: not on the page")
    assert not missing, "\n".join(sorted(set(missing)))


def test_the_reference_is_the_same_whatever_the_hash_seed() -> None:
    """Set and dict orders never leak into the page, so a rebuild changes nothing: the script
    run under a fixed hash seed prints what this process (a random seed) renders."""
    assert os.environ.get("PYTHONHASHSEED") != "12345"  # else both sides share one seed
    printed = subprocess.run(
        [sys.executable, str(HOOK)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    assert printed == _hook().markdown()
    assert key_cell("monitors[].rules[].for") in printed


def test_the_readme_links_only_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert local, "the README links the docs pages"
    assert [t for t in local if not (ROOT / t).exists()] == []
    # every page of the site is reachable from the README's map
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages <= {Path(t).name for t in local}


def test_the_site_builds_strictly_with_the_generated_reference(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    reference = (site / "config-reference" / "index.html").read_text()
    for key in ("outputs.<name>.store.url", "monitors[].rules[].for", "conditions[].metric"):
        assert key_cell(key) in reference  # the generated rows made it into the site
    assert not (site / "gen_config_reference.py").exists()
