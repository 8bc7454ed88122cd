"""Evaluators and LLM judges on a failure-biased, stratified sample of each window."""
