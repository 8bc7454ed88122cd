"""Evaluators: offline checks that need no key, and LLM judges over OpenAI-compatible endpoints."""
