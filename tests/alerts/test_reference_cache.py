"""The merged reference periods of own-history and baseline rules are kept per period, not per
set of cohorts a window asks for: a night window whose quiet tenant had no rows asks for one
cohort fewer, and keying on the set re-read and re-decoded the whole week for it (a trial's
backfill went from ~1 s to 5-9 s a window). Through a real store of run windows."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import T0
from tests.test_pipeline import _ctx

from lookout.alerts.references import ReferencePeriod, _MergedPeriods
from lookout.core.summary import merge_all
from lookout.model.families.registry import FAMILIES
from lookout.pipeline import run_window
from lookout.windows import Window

H = timedelta(hours=1)


def test_a_cohort_fewer_or_more_reuses_the_period_and_a_rerun_invalidates_it(tmp_path):
    ctx = _ctx(tmp_path)
    monitor = ctx.config.monitors.monitors[0]
    try:
        for i in range(3):
            assert (
                run_window(ctx, monitor, Window(T0 + i * H, T0 + (i + 1) * H)).status == "succeeded"
            )
        reads: list[list[str]] = []
        store = ctx.store
        real = store.summaries

        def counted(*args, **kwargs):
            if kwargs.get("cohorts") is not None:  # the cache's reads (windows read them all)
                reads.append(sorted(kwargs["cohorts"]))
            return real(*args, **kwargs)

        store.summaries = counted  # type: ignore[method-assign]
        period = ReferencePeriod(None, T0, T0 + 3 * H, own_history=True)
        cache = _MergedPeriods()
        first = cache.get(store, "bot", "ops", period, ["route=faq", "region=eu"])
        assert reads == [["region=eu", "route=faq"]]
        fewer = cache.get(store, "bot", "ops", period, ["route=faq"])
        assert reads == [["region=eu", "route=faq"]]  # no read: it was merged already
        assert fewer[(None, "route=faq")] is first[(None, "route=faq")]
        more = cache.get(store, "bot", "ops", period, ["route=faq", "region=us"])
        assert reads[1:] == [["region=us"]]  # only the cohort not merged yet
        # what the entry holds is what a fresh merge of the period gives
        parts = real("bot", T0, T0 + 3 * H, stages=["ops"], cohorts=["region=us"], cached=False)
        fresh = merge_all([s for series in parts.values() for _, s in series])
        assert FAMILIES.pooled("error_rate", more[(None, "region=us")]) == FAMILIES.pooled(
            "error_rate", fresh
        )
        # a re-run of a window of the period writes a new run id: the entry is read again
        assert run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H)).status == "succeeded"
        cache.get(store, "bot", "ops", period, ["route=faq"])
        assert reads[2:] == [["route=faq"]]
    finally:
        ctx.close()
