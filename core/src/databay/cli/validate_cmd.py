"""``databay validate PIPELINE``: check a pipeline file without running or connecting anything.

Everything it prints passes through :func:`databay.redaction.redact`: the pipeline's
``${VAR}`` and profile values are registered as secrets while it is checked. What the
summary and the warnings quote from the file (tags, names, the file's own name) is escaped
line by line (:mod:`databay.printable`); JSON escapes control characters itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from databay.cli.errors import EXIT_USAGE, CliError
from databay.printable import printable_line
from databay.redaction import redact

if TYPE_CHECKING:
    from databay.pipeline import PipelineSpec

PIPELINE_HELP = "The pipeline file: TOML, or YAML (.yaml/.yml, databay[yaml])."
"""The help of the PIPELINE argument of every command taking one."""


def validate(
    # Not dir_okay=False: a folder is a problem like any other, so that --json reports it too.
    pipeline: Path = typer.Argument(..., help=PIPELINE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (problems too)."),
    show: bool = typer.Option(
        False, "--show",
        help="Print the configuration as it will run: defaults filled in, names resolved, profiles and "
             "${VAR} applied, secrets redacted (TOML, or JSON with --json).",
    ),
) -> None:
    """Check a pipeline: components, arguments and their types, intervals, environment variables, profiles.

    Exit 0 when it is valid (with a summary, and warnings on standard error), 2 with every
    problem and its place when not.
    """
    from databay.pipeline import PipelineError, check_pipeline

    try:
        spec = check_pipeline(pipeline)
    except PipelineError as exc:
        if as_json:
            problems = [p.as_dict() for p in exc.problems]
            _write_json({"source": exc.source, "valid": False, "problems": problems})
            raise typer.Exit(EXIT_USAGE) from None
        raise CliError(str(exc), EXIT_USAGE) from None
    if show:
        from databay.pipeline.effective import effective_json, effective_toml

        sys.stdout.write(effective_json(spec) if as_json else effective_toml(spec))
    elif as_json:
        from databay.cli.pipeline_text import pipeline_json

        _write_json({**pipeline_json(spec), "warnings": [w.as_dict() for w in spec.warnings]})
    else:
        _print_summary(spec)
    if not as_json:
        for warning in spec.warnings:
            print(printable_line(f"Warning: {spec.source}: {warning}"), file=sys.stderr)


def _print_summary(spec: PipelineSpec) -> None:
    from databay.cli.pipeline_text import component_text, link_lines

    count = len(spec.links)
    lines = [f"{spec.source}: valid, {count} link{'s' if count != 1 else ''}, planner {spec.planner.use}"]
    lines += [f"  {line}" for link in spec.links for line in link_lines(link)]
    lines += [f"  {notifier.place}: {component_text(notifier)}" for notifier in spec.notifiers]
    print("\n".join(printable_line(line) for line in lines))


def _write_json(data: dict[str, Any]) -> None:
    sys.stdout.write(redact(json.dumps(data, indent=2, default=str)) + "\n")
