"""Drift, the pure part: columns and feature groups, statistics on histograms, sketches as
histograms, and verdicts (effect floors, small-sample tests). The stage: `lookout.stages.drift`.
"""
