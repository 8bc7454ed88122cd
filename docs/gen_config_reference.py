"""MkDocs hook: the configuration reference page, generated from the pydantic models at build
time so it cannot drift from the code (and is never committed).

`mkdocs build` runs `on_files`; `python docs/gen_config_reference.py` prints the same page.
The page documents this checkout's code: `src/` next to this file goes first on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lookout.compare.gate import GatePolicy
from lookout.config.models import MonitorsFile, ProfilesFile
from lookout.config.reference import ConfigFile, render_reference

PAGE = "config-reference.md"

TITLE = "Configuration reference"
INTRO = """
Generated from the pydantic models when the site is built: every key Lookout accepts is here,
with its type, its default and what it does. For how the files fit together, with examples,
see [Configuration](configuration.md).

Key paths read like YAML: `a.b` is key `b` inside mapping `a`; `a[]` is every item of list `a`;
`a.<name>` is every entry of map `a` under a name you choose. *Durations* are written `30s`,
`15m`, `1h`, `1d` or `1w`; a span Lookout waits, pools or keeps for (a period, a lookback, a
timeout, `stale_after`, `remind_after`) must be longer than zero. *Timestamps* are ISO 8601
and taken as UTC when they carry no offset; an *identifier* matches
`^[A-Za-z_][A-Za-z0-9_]{0,62}$`; a *secret* is never shown in a log, an error or a stored row:
write it as `{{ env_var('NAME') }}`. Unknown keys are errors.
"""

FILES = (
    ConfigFile(
        "profiles.yml",
        "profiles",
        ProfilesFile,
        "WHERE Lookout reads and writes: named targets, one chosen per run (`--target`, then "
        "`LOOKOUT_TARGET` through `{{ env_var(...) }}` in `target:`).",
    ),
    ConfigFile(
        "monitors.yml",
        "monitors",
        MonitorsFile,
        "WHAT Lookout watches: owners, the alerting policy, and one monitor per table.",
    ),
    ConfigFile(
        "Gate policy",
        "gate",
        GatePolicy,
        "The file given to `lookout gate --policy` (see [Compare and gate](compare-and-gate.md)).",
    ),
)


def markdown() -> str:
    """The reference page's markdown."""
    return render_reference(TITLE, INTRO, FILES)


def on_files(files: Any, config: Any) -> Any:
    """Add the generated page to the site (MkDocs event)."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    if files.get_file_from_path(PAGE) is not None:
        raise PluginError(f"docs/{PAGE} is generated at build time: delete the file")
    files.append(File.generated(config, PAGE, content=markdown()))
    return files


if __name__ == "__main__":
    sys.stdout.write(markdown())
