"""The ``databay`` command line.

``databay plugins`` is what users run first and most, so :func:`main` runs it without
building the Typer application when the arguments are plain (only the flags it knows):
typer's argument parsing alone imports pydantic, which would triple the start-up time.
Everything else, ``--help`` included, goes through the Typer application.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_ROOT_FLAGS = {"--debug", "--strict-plugins"}
_PLUGINS_FLAGS = {"--json", "--check"}


def main(argv: list[str] | None = None) -> None:
    """Run the ``databay`` command with ``argv`` (default: the process arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not _run_plugins_directly(args):
        from databay.cli.main import main as run_app

        run_app(args)


def _run_plugins_directly(args: list[str]) -> bool:
    """Run ``databay [--debug] [--strict-plugins] plugins [--json] [--check]`` without Typer.

    Returns ``False`` (nothing done) for any other command line.
    """
    if "plugins" not in args:
        return False
    at = args.index("plugins")
    before, after = args[:at], args[at + 1:]
    if not set(before) <= _ROOT_FLAGS or not set(after) <= _PLUGINS_FLAGS:
        return False
    from databay.cli.errors import exit_on_error

    with exit_on_error(debug="--debug" in before):
        from databay.plugins import get_plugin_manager

        # Loaded here so that a broken plugin is reported as on the Typer path. Commands
        # plugins add never replace core's (databay.cli.main), so they need not be added.
        get_plugin_manager(strict=("--strict-plugins" in before) or None)
        from databay.cli.plugins_view import show_plugins

        code = show_plugins(as_json="--json" in after, check="--check" in after)
    if code:
        sys.exit(code)
    return True
