"""``databay web PIPELINE``: the dashboard of a pipeline that is not running (read-only), and
``databay web --hash-password``.

Imported at every start of ``databay`` (the plugin adds the command): only typer and the
standard library here; the server is imported when the command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

EXIT_FAILURE, EXIT_USAGE = 1, 2


def web(
    ctx: typer.Context,
    pipeline: Optional[Path] = typer.Argument(  # noqa: UP045 - typer reads the annotation
        None, help="The pipeline file (TOML or YAML).", dir_okay=False),
    listen: Optional[str] = typer.Option(  # noqa: UP045
        None, "--web", metavar="HOST:PORT",
        help="Where to serve (default: the pipeline's [web] listen, else 127.0.0.1:8080; host 127.0.0.1 "
             "when left out)."),
    hash_password: bool = typer.Option(
        False, "--hash-password", help="Ask for a password and print its hash for a users file (NAME:HASH "
                                       "lines), then exit. Reads standard input when it is not a terminal."),
    user: Optional[str] = typer.Option(  # noqa: UP045
        None, "--user", metavar="NAME", help="With --hash-password: print the whole NAME:HASH line."),
) -> None:
    """Serve the read-only dashboard of a pipeline that is not running: its links and their
    configuration, and what their stages hold (pending, dead-lettered and kept batches,
    their records, exports). Ctrl-C stops it.

    While the pipeline runs, serve the dashboard with `databay run PIPELINE --web HOST:PORT`
    instead (or a [web] table): it adds live state, the log, actions and /metrics.
    Exit 0 when stopped, 1 when the address cannot be listened on, 2 for an invalid
    pipeline or bad usage.
    """
    if hash_password:
        _print_hash(user)
        return
    if pipeline is None:
        _fail("give a PIPELINE to show, or --hash-password", EXIT_USAGE)
    debug = bool(ctx.find_root().params.get("debug"))
    settings, spec = _settings(pipeline, listen, debug)  # type: ignore[arg-type]
    _serve(settings, spec)


def _fail(message: str, code: int) -> None:
    from databay.printable import printable_lines

    print(printable_lines(f"Error: {message}"), file=sys.stderr)
    raise typer.Exit(code)


def _settings(pipeline: Path, listen: str | None, debug: bool) -> tuple[Any, Any]:
    from dataclasses import replace

    from databay.pipeline import PipelineError, check_pipeline

    try:
        spec = check_pipeline(pipeline, services={"web": {"listen": listen}} if listen else None)
    except PipelineError as exc:
        _fail(str(exc), EXIT_USAGE)
    table = next((service for service in spec.services if service.use == "web"), None)
    try:
        from databay_web.service import WebService

        service = WebService(**table.arguments) if table is not None else WebService()
    except (TypeError, ValueError) as exc:
        _fail(f"{table.label if table is not None else 'web'}: {exc}", EXIT_USAGE)
    return replace(service.settings, read_only=True, debug=service.settings.debug or debug), spec


def _serve(settings: Any, spec: Any) -> None:
    import asyncio
    import signal

    from databay.errors import ServiceError

    from databay_web.server import WebServer
    from databay_web.service import listening_socket

    try:
        sock = listening_socket(settings)
    except ServiceError as exc:
        _fail(str(exc), EXIT_FAILURE)

    async def serve() -> None:
        server = WebServer(settings, spec)
        await server.start(sock)
        print(f"Serving {spec.source} (read-only) at {server.url}; Ctrl-C stops", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(serve())


def _print_hash(user: str | None) -> None:
    import getpass

    from databay_web.passwords import hash_password

    if user is not None and (not user or ":" in user or user != user.strip()):
        _fail("--user: a name without ':' and without spaces around it", EXIT_USAGE)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            _fail("the passwords differ", EXIT_USAGE)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        _fail("an empty password", EXIT_USAGE)
    hashed = hash_password(password)
    print(f"{user}:{hashed}" if user else hashed)
