"""`lookout eval`: score a JSONL file with evaluators and print their pass rates. Parses and
prints; the evaluators come from `lookout.services.eval` (the registry monitors use)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.common import fail
from lookout.cli.console import console, err_console
from lookout.cli.options import finite

__all__ = ["eval_file"]


def eval_file(
    input_path: Annotated[Path, typer.Option("--input", help="JSONL, one record per line")],
    output_path: Annotated[Path, typer.Option("--output", help="JSONL of judgments")],
    evaluator: Annotated[
        list[str] | None, typer.Option("--evaluator", help="offline evaluator (repeatable)")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="LLM judge template (repeatable); needs --base-url/--model"),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(envvar="LOOKOUT_JUDGE_BASE_URL", help="OpenAI-compatible URL")
    ] = None,
    model: Annotated[str | None, typer.Option(envvar="LOOKOUT_JUDGE_MODEL")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0, max=1, callback=finite, help="pass at score >= this"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="judge requests in flight")] = 8,
    max_judgments: Annotated[int | None, typer.Option(min=0, help="budget: judge requests")] = None,
    max_usd: Annotated[
        float | None, typer.Option(min=0, callback=finite, help="budget: USD")
    ] = None,
) -> None:
    """Score a JSONL file with evaluators; the key of a judge comes from LOOKOUT_JUDGE_API_KEY."""
    from rich.table import Table

    from lookout.services.eval import build_file_evaluators, evaluator_lines, score

    if not evaluator and not judge:
        raise fail("name at least one --evaluator or --judge", 2)
    if not input_path.is_file():
        raise fail(f"{input_path}: no such file", 2)
    try:
        built = build_file_evaluators(
            evaluator or [],
            judge or [],
            base_url=base_url,
            model=model,
            api_key=os.environ.get("LOOKOUT_JUDGE_API_KEY"),
            concurrency=concurrency,
            threshold=threshold,
        )
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    outcome = score(input_path, output_path, built, max_judgments, max_usd)
    for problem in outcome.errors:
        err_console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    table = Table("evaluator", "judged", "pass rate", "skipped", "errors", "cost USD")
    for line in evaluator_lines(built, outcome):
        rate = line.pass_rate
        table.add_row(
            line.evaluator,
            str(line.judged),
            "-" if rate is None else f"{rate:.1%}",
            str(line.skipped),
            str(line.errors),
            f"{line.cost_usd:.4f}",
        )
    console.print(table)
    for cal in outcome.calibration:
        kappa = "-" if cal.kappa is None else f"{cal.kappa:.3f}"
        cells = ", ".join(f"{k} {v}" for k, v in cal.confusion.items())
        console.print(
            f"{escape(cal.evaluator)} vs human labels: n={cal.n}, accuracy {cal.accuracy:.1%}, "
            f"kappa {kappa} (judge/human: {cells})",
            highlight=False,
            soft_wrap=True,
        )
    if outcome.budget_exhausted:
        console.print(f"budget reached ({outcome.budget_exhausted}): the rest was not judged")
    console.print(f"{outcome.records} record(s) -> {escape(str(output_path))}", highlight=False)
    if outcome.errors:
        raise typer.Exit(1)
