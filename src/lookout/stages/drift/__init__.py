"""Drift of each release x cohort against a reference, pooled over a rolling period."""
