"""``databay worker PIPELINE``: the worker role of a pipeline whose planner is ``celery``.

(The scheduler role is ``databay run PIPELINE``: that runs the pipeline's planner, which
for the Celery planner sends tasks instead of transferring.)
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

EXIT_USAGE = 2


def add_commands(app: typer.Typer) -> None:
    """Add ``databay worker`` to the ``databay`` command."""
    app.command("worker")(worker)


def worker(
    pipeline: Path = typer.Argument(..., help="The pipeline file (its planner: use = \"celery\").", dir_okay=False),
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, help="Transfers this worker runs at once."),
    loglevel: str = typer.Option("warning", "--loglevel", "-l", help="Celery's log level (info shows every task)."),
    hostname: str = typer.Option("", "--hostname", "-n", help="The worker's Celery node name "
                                 "(default databay-NAME-PID@HOST)."),
) -> None:
    """Run a Celery worker that builds PIPELINE's links and carries out their transfers.

    The scheduler (databay run PIPELINE) sends each due transfer as a task; any worker of
    the pipeline may run it. Stop with Ctrl-C or SIGTERM (transfers in flight finish).
    Exit 2 for an invalid pipeline or one whose planner is not celery.
    """
    from databay import PipelineError, load_pipeline
    from databay.redaction import redact

    from databay_celery.planner import CeleryPlanner

    logging.getLogger("databay").setLevel(getattr(logging, loglevel.upper(), logging.WARNING))
    try:
        loaded = load_pipeline(pipeline)
    except PipelineError as exc:
        typer.echo(redact(str(exc)), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if not isinstance(loaded.planner, CeleryPlanner):
        typer.echo(f"{pipeline}: its planner is {type(loaded.planner).__name__}, not the Celery planner: databay worker "
                   f"runs the links of a pipeline with [planner] use = \"celery\"", err=True)
        raise typer.Exit(EXIT_USAGE)
    from databay_celery.worker import Worker

    code = Worker(loaded, concurrency).run(loglevel, hostname or None)
    if code:
        raise typer.Exit(code)
