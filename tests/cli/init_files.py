"""What the init tests do after `lookout init` wrote a project: check its files against the
table, as a user would, then run windows through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import LookoutConfig, load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window


def check_and_run(cfg: Path, windows: Iterable[Window]) -> LookoutConfig:
    """`validate-config --check-warehouse` on `cfg`'s files passes, and each window of its
    first monitor runs and succeeds; returns the loaded config."""
    files = ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    check = CliRunner().invoke(app, ["validate-config", "--check-warehouse", *files])
    assert check.exit_code == 0, check.output
    config = load_config(cfg / "profiles.yml", cfg / "monitors.yml")
    ctx = Context.from_config(config)
    try:
        for window in windows:
            result = run_window(ctx, config.monitors.monitors[0], window)
            assert result.status == "succeeded", result.error
    finally:
        ctx.close()
    return config
