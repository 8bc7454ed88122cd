"""Validation of each window (Great Expectations suites from config) and quarantine."""
