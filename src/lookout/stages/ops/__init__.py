"""Ops metrics per release x cohort: volume, errors, latency and TTFT quantiles, tokens, cost."""
