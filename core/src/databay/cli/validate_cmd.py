"""``databay validate PIPELINE``: check a pipeline file without running or connecting anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from databay.cli.errors import EXIT_USAGE, CliError


def validate(
    # Not dir_okay=False: a folder is a problem like any other, so that --json reports it too.
    pipeline: Path = typer.Argument(..., help="The pipeline file (TOML, or YAML with databay[yaml])."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (problems too)."),
) -> None:
    """Check a pipeline: components, arguments and their types, intervals, environment variables.

    Exit 0 when it is valid (with a summary), 2 with every problem and its place when not.
    """
    from databay.cli.pipeline_text import component_text, link_lines, pipeline_json
    from databay.pipeline import PipelineError, check_pipeline

    try:
        spec = check_pipeline(pipeline)
    except PipelineError as exc:
        if as_json:
            problems = [p.as_dict() for p in exc.problems]
            sys.stdout.write(json.dumps({"source": exc.source, "valid": False, "problems": problems}, indent=2) + "\n")
            raise typer.Exit(EXIT_USAGE) from None
        raise CliError(str(exc), EXIT_USAGE) from None
    if as_json:
        sys.stdout.write(json.dumps(pipeline_json(spec), indent=2, default=str) + "\n")
        return
    count = len(spec.links)
    print(f"{spec.source}: valid, {count} link{'s' if count != 1 else ''}, planner {spec.planner.use}")
    for link in spec.links:
        for line in link_lines(link):
            print(f"  {line}")
    for notifier in spec.notifiers:
        print(f"  {notifier.place}: {component_text(notifier)}")
