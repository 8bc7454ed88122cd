"""Which release a release replaced: most fields in common, then the most recent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lookout.core.releases import previous_release, shared_fields

T = datetime(2026, 10, 5, tzinfo=UTC)
H = timedelta(hours=1)


def test_a_new_version_of_a_model_replaced_the_old_version_of_the_same_model():
    # every model's old version (and spans without a model) appeared in the same window
    seen = {
        "gpt-4o-mini@2.3.0": T,
        "gpt-4o@2.3.0": T,
        "(null)@2.3.0": T,
        "gpt-4o@2.4.0": T + 72 * H,
        "gpt-4o-mini@2.4.0": T + 72 * H,
    }
    assert previous_release("gpt-4o@2.4.0", seen) == "gpt-4o@2.3.0"  # was gpt-4o-mini@2.3.0
    assert previous_release("gpt-4o-mini@2.4.0", seen) == "gpt-4o-mini@2.3.0"
    assert previous_release("gpt-4o@2.3.0", seen) is None
    assert previous_release("unknown", seen) is None


def test_a_model_swap_replaced_the_model_under_the_same_prompt_and_else_the_newest():
    seen = {"a@v1": T, "b@v1": T + H, "a@v2": T + 2 * H, "c@v3": T + 3 * H}
    assert previous_release("a@v2", seen) == "a@v1"  # not b@v1, the newer one
    assert previous_release("c@v3", seen) == "a@v2"  # nothing shared: the most recent
    assert previous_release("b@v1", seen) == "a@v1"
    assert shared_fields("a@v1", "a@v2") == 1 and shared_fields("a", "a@v1") == 0
