"""Prefect flows: thin shells that load config, plan windows and call `lookout` functions.

Importing this package imports Prefect; the rest of `lookout` does not need it.
"""
