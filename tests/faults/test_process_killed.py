"""The process running a window is killed with SIGKILL just before a stage (no cleanup, no
exception handler runs): nothing of the window is stored, the watermark stays, and the re-run
stores exactly what an uninterrupted run stores."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import T0, duckdb_project
from tests.test_pipeline import _snapshot

from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)
W0 = Window(T0, T0 + H)

KILLER = """
import os, signal, sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

cfg = Path(sys.argv[1])
ctx = Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))
stage = sys.argv[2]
ctx.before_stage = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == stage else None
start = datetime(2026, 11, 2, tzinfo=timezone.utc)
run_window(ctx, ctx.config.monitors.monitors[0], Window(start, start + timedelta(hours=1)))
print("not killed")
"""


def _project(directory: Path) -> Context:
    return Context.from_config(duckdb_project(directory, threshold=0.03))


@pytest.mark.parametrize("stage", ["ops", "commit"])  # mid-run, and at the last moment
def test_sigkill_before_a_stage_leaves_nothing_and_the_rerun_is_identical(tmp_path, stage):
    ctx = _project(tmp_path / "killed")
    ctx.close()  # the child process owns the databases while it runs
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(tmp_path / "killed" / "cfg"), stage],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    ctx = Context.from_config(ctx.config)
    assert ctx.store.watermark("bot") is None
    assert ctx.store.metrics("bot") == [] and ctx.store.outbox() == [] and ctx.store.alerts() == []
    assert ctx.store.runs("bot") == []  # not even a failed run: the process had no chance
    assert run_window(ctx, ctx.config.monitors.monitors[0], W0).status == "succeeded"
    mine = _snapshot(ctx)
    ctx.close()
    clean = _project(tmp_path / "clean")
    assert run_window(clean, clean.config.monitors.monitors[0], W0).status == "succeeded"
    assert mine == _snapshot(clean)
    clean.close()
