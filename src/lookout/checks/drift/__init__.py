"""Drift of a window against a reference: columns, histogram statistics, the stage."""
