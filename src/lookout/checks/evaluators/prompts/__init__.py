"""Prompt templates of the LLM judges (`<name>.j2`; `_base.j2` is the shared frame)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROMPTS_DIR", "template_names"]

PROMPTS_DIR = Path(__file__).parent


def template_names() -> list[str]:
    """The judge templates that exist, by name."""
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.j2") if not p.stem.startswith("_"))
