"""Synthetic warehouse with injected incidents, for the demo and the tests."""
