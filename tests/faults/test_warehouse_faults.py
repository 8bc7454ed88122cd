"""A PostgreSQL warehouse connection dropped in the middle of a window's read (a TCP proxy
cuts it): the window fails with a clear message, nothing of it is stored, the watermark stays,
and the re-run stores exactly what a run without the fault stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table
from tests.faults.tcp_proxy import cutting_proxy
from tests.test_pipeline import _snapshot

from lookout.pipeline import Context, run_window
from lookout.windows import Window

pytestmark = pytest.mark.postgres

H = timedelta(hours=1)
W0 = Window(T0, T0 + H)


def _context(tmp_path, url: str, schema: str, name: str) -> Context:
    config = write_config(
        tmp_path / name,
        warehouse=url,
        store=f"sqlite:///{tmp_path / name / 'results.sqlite'}",
        schema=schema,
        pushdown="off",  # read the rows themselves: a long result to cut in the middle
        threshold=0.03,
    )
    return Context.from_config(config)


def test_a_connection_dropped_mid_read_fails_cleanly_and_the_rerun_is_identical(
    tmp_path, pg_schema
):
    pg_url, schema = pg_schema
    engine = sa.create_engine(pg_url)
    write_table(engine, make_requests(hours=1, per_hour=3000), schema=schema)
    engine.dispose()
    parsed = sa.engine.make_url(pg_url)
    with cutting_proxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        ctx = _context(tmp_path, url, schema, "faulty")
        monitor = ctx.config.monitors.monitors[0]
        ctx.before_stage = lambda stage: proxy.arm(20_000) if stage == "ops" else None
        failed = run_window(ctx, monitor, W0)
        assert proxy.cuts >= 1
        assert failed.status == "failed"
        assert "OperationalError" in failed.error or "connection" in failed.error.lower()
        assert ctx.store.watermark("bot") is None
        assert ctx.store.metrics("bot") == [] and ctx.store.alerts() == []
        # the owner is told once that the window failed; nothing else is queued
        assert [r.kind for r in ctx.store.outbox()] == ["failure"]
        [run] = ctx.store.runs("bot")
        assert run["status"] == "failed" and run["error"] == failed.error
        proxy.disarm()
        ctx.before_stage = None
        again = run_window(ctx, monitor, W0)
        assert again.status == "succeeded" and again.rows == 3000
        mine = _snapshot(ctx)
        mine["outbox"] = [row for row in mine["outbox"] if "failure" not in row]
        ctx.close()
    clean = _context(tmp_path, pg_url, schema, "clean")
    assert run_window(clean, clean.config.monitors.monitors[0], W0).status == "succeeded"
    assert mine == _snapshot(clean)
    clean.close()
