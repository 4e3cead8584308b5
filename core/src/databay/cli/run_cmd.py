"""``databay run PIPELINE``: check a pipeline, build it and run it (or run every link once).

Services (:mod:`databay.service`) that declare an option add it to this command:
``--web HOST:PORT`` sets the ``listen`` argument of the ``web`` service (databay-web), as a
``[web]`` table in the pipeline would. :func:`command` builds the command with them.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from databay.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError
from databay.cli.validate_cmd import PIPELINE_HELP

if TYPE_CHECKING:
    from databay.cli.log_setup import ErrorCounter
    from databay.pipeline import Pipeline
    from databay.pipeline.progress import LinkProgress


def run(
    ctx: typer.Context,
    pipeline: Path = typer.Argument(..., help=PIPELINE_HELP, dir_okay=False),
    once: bool = typer.Option(False, "--once", help="Transfer every link once, then exit (1 if one failed)."),
    no_live: bool = typer.Option(False, "--no-live", help="Log lines instead of the live view."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logs (-vv: debug)."),
    quiet: int = typer.Option(0, "--quiet", "-q", count=True, help="Fewer logs (-qq: errors only)."),
    log_format: str = typer.Option("text", "--log-format", help="text, or json (one object per line)."),
    shutdown_timeout: float = typer.Option(
        30.0, "--shutdown-timeout", min=0.0,
        help="Seconds a graceful stop may take before the exit is forced (0: no limit).",
    ),
) -> None:
    """Check and run a pipeline until Ctrl-C or SIGTERM (a second one forces the exit).

    A live view (a summary, and the links that fit the terminal, failing ones first) shows
    progress when standard output is a terminal; otherwise (or with --no-live) each
    transfer is a log line on standard error. Exit 0 after a graceful
    stop, 1 when the planner stopped on an error or a --once transfer failed, 2 for an
    invalid pipeline.
    """
    execute(ctx, pipeline, once, no_live, verbose, quiet, log_format, shutdown_timeout, {})


@dataclass(frozen=True)
class ServiceOption:
    """An option of ``databay run`` that a service declares (:attr:`databay.service.Service.option`).

    :param service: the service's registered name; the option is ``--NAME``.
    :param argument: the constructor argument it sets.
    """

    service: str
    argument: str
    metavar: str = "VALUE"
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.service.replace("_", "-")


def command(options: list[ServiceOption]) -> Callable[..., None]:
    """The ``run`` command with an option per service in ``options`` (but those whose flag
    is one of ``run``'s own)."""
    if not options:
        return run
    signature = inspect.signature(run, eval_str=True)
    own = {flag for param in signature.parameters.values() for flag in getattr(param.default, "param_decls", None) or ()}
    parameters = list(signature.parameters.values())
    chosen: dict[str, ServiceOption] = {}
    for option in options:
        name = f"service_{option.service}"
        if option.flag in own or name in chosen:
            continue
        chosen[name] = option
        default = typer.Option(None, option.flag, metavar=option.metavar, help=option.help)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=Optional[str]))  # noqa: UP045 - typer reads it at run time

    def run_with_services(**values: Any) -> None:
        services = {option.service: {option.argument: value} for name, option in chosen.items()
                    if (value := values.pop(name)) is not None}
        execute(**values, services=services)

    run_with_services.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run_with_services.__annotations__ = {param.name: param.annotation for param in parameters}
    run_with_services.__doc__ = run.__doc__
    return run_with_services


def execute(ctx: typer.Context, pipeline: Path, once: bool, no_live: bool, verbose: int, quiet: int,
            log_format: str, shutdown_timeout: float, services: dict[str, dict[str, str]]) -> None:
    """What ``databay run`` does; ``services``: the service options given, as tables to merge
    into the pipeline's (``{"web": {"listen": "127.0.0.1:8080"}}``)."""
    if once and services:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in services)
        raise CliError(f"{flags} runs beside a running pipeline: it does not go with --once", EXIT_USAGE)
    if log_format not in ("text", "json"):
        raise CliError(f"--log-format must be text or json, not '{log_format}'", EXIT_USAGE)
    from databay.cli.log_setup import configure_logging
    from databay.errors import ServiceError
    from databay.pipeline import PipelineError, load_pipeline

    debug = bool(ctx.find_root().params.get("debug"))
    errors = configure_logging(verbose - quiet, log_format, tracebacks=debug)
    timeout = shutdown_timeout or None
    try:
        loaded = load_pipeline(pipeline, services=services)
    except PipelineError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    for service in loaded.services:
        service.debug = debug
    if once:
        code = _run_once(loaded, timeout)
    else:
        try:
            code = _run(loaded, timeout, live=not no_live and sys.stdout.isatty(), errors=errors)
        except ServiceError as exc:
            raise CliError(str(exc), EXIT_FAILURE) from None
    if code != EXIT_OK:
        raise typer.Exit(code)


def _run_once(pipeline: Pipeline, shutdown_timeout: float | None) -> int:
    from databay.cli.pipeline_text import component_text, duration_text
    from databay.printable import printable_line

    result = pipeline.run_once(shutdown_timeout=shutdown_timeout)
    for link, spec in zip(pipeline.links, pipeline.spec.links):
        outcome = result.outcomes.get(link)
        if isinstance(outcome, Exception):
            print(printable_line(f"FAILED {spec.label}: {type(outcome).__name__}: {outcome}"))
        elif outcome is not None:
            dead = f", {outcome.dead_lettered} batch(es) dead-lettered" if outcome.dead_lettered else ""
            print(printable_line(f"ok     {spec.label}: {outcome.records_pulled} pulled, "
                                 f"{outcome.records_pushed} pushed{dead} in {duration_text(outcome.duration)}"))
        print(printable_line(f"         -> {', '.join(component_text(s) for s in spec.components('outlets'))}"))
    return EXIT_FAILURE if result.failed else EXIT_OK


def _run(pipeline: Pipeline, shutdown_timeout: float | None, live: bool, errors: ErrorCounter) -> int:
    from databay.pipeline.progress import ProgressTracker

    if live:
        from databay.cli.live_view import LiveView

        with ProgressTracker(pipeline) as tracker:
            view = LiveView(pipeline, tracker)
            with view.live():
                result = pipeline.run(shutdown_timeout=shutdown_timeout)
                view.stopped = True
    else:
        from databay.cli.log_setup import PROGRESS_LOGGER
        from databay.cli.pipeline_text import link_line

        logger = logging.getLogger(PROGRESS_LOGGER)
        logger.info("Running %s (Ctrl-C or SIGTERM to stop)", pipeline.source)
        for spec in pipeline.spec.links:
            logger.info("%s", link_line(spec))
        with ProgressTracker(pipeline, listener=_log_progress):
            result = pipeline.run(shutdown_timeout=shutdown_timeout)
    if result.stopped_by is not None:
        return EXIT_OK
    logging.getLogger("databay.run").error("The planner stopped by itself%s",
                                           " after an error (see above)" if errors.count else "")
    return EXIT_FAILURE


def _log_progress(event: str, progress: LinkProgress, detail: Any) -> None:
    from databay.cli.log_setup import PROGRESS_LOGGER
    from databay.cli.pipeline_text import duration_text

    logger = logging.getLogger(PROGRESS_LOGGER)
    if event == "finished":
        logger.info("%s: transfer %d: %d pulled, %d pushed in %s", progress.label, progress.transfers,
                    detail.records_pulled, detail.records_pushed, duration_text(detail.duration))
    else:
        logger.error("%s: transfer %d failed: %s", progress.label, progress.transfers, progress.last_error)
