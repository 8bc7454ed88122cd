"""What the init tests do after `lookout init` wrote a project: check its files against the
table, as a user would, then run windows through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import LookoutConfig, load_config, load_monitors
from lookout.config.models import SourceConfig
from lookout.pipeline import Context, run_window
from lookout.windows import Window


def init_project(cfg: Path, url: str, table: str) -> tuple[str, SourceConfig]:
    """`lookout init --table <table> --yes` writing `cfg`'s profiles.yml and monitors.yml; it
    must succeed. Returns what it printed and the proposed monitor's source."""
    files = ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    args = ["init", "--table", table, "--warehouse-url", url, *files, "--yes"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output, load_monitors(cfg / "monitors.yml").monitors[0].source


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
