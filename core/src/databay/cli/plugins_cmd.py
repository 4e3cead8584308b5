"""``databay plugins``: which plugin distributions are installed and what they register.

The listing itself lives in :mod:`databay.cli.plugins_view`, which imports no typer, so
that ``databay`` can run it without building the command line (see :mod:`databay.cli`).
"""

from __future__ import annotations

import typer

from databay.cli.plugins_view import show_plugins


def plugins(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    check: bool = typer.Option(
        False, "--check", help="Import and verify every registered component; exit 1 on any failure."
    ),
) -> None:
    """List plugin distributions with their inlets, outlets, planners, processors and notifiers."""
    code = show_plugins(as_json, check)
    if code:
        raise typer.Exit(code)
