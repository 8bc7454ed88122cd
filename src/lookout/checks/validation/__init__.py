"""Validation stage: compact expectations from monitors.yml run with Great Expectations."""
