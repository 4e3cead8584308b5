"""``databay plugins``: which plugin distributions are installed and what they register."""

from __future__ import annotations

import json
import sys

import typer

from databay.plugins import KINDS, get_plugin_manager


def plugins(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    check: bool = typer.Option(
        False, "--check", help="Import and verify every registered component; exit 1 on any failure."
    ),
) -> None:
    """List plugin distributions with their inlets, outlets, planners and processors."""
    manager = get_plugin_manager()
    if check:
        _check(manager, as_json)
        return
    infos = list(manager.plugins.values())
    clashes = manager.clashes()
    if as_json:
        data = {
            "plugins": [info.as_dict() for info in infos],
            "clashes": [{"kind": k, "name": n, "distributions": d} for k, n, d in clashes],
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="databay plugins", title_justify="left")
    table.add_column("Plugin", style="bold", no_wrap=True)
    table.add_column("Version", no_wrap=True)
    for kind in KINDS:
        table.add_column(f"{kind.capitalize()}s", overflow="fold")
    table.add_column("Status", no_wrap=True)
    for info in infos:
        cells = [", ".join(c.name for c in info.of_kind(kind)) or "-" for kind in KINDS]
        status = "[red]broken[/red]" if info.error else "[green]ok[/green]"
        table.add_row(info.name, info.version, *cells, status)
    console = Console()
    console.print(table)
    for info in infos:
        if info.error:
            console.print(f"[red]{info.name} is broken:[/red] {escape(info.error)}")
    for kind, name, dists in clashes:
        console.print(
            f"[yellow]Warning:[/yellow] {kind} '{name}' is registered by {' and '.join(dists)}; "
            f"use {' or '.join(f'{d}:{name}' for d in dists)}."
        )


def _check(manager, as_json: bool) -> None:
    from databay.plugin_check import check_all

    verdicts = check_all(manager)
    failed = [v for v in verdicts if not v.ok]
    if as_json:
        sys.stdout.write(json.dumps([v.as_dict() for v in verdicts], indent=2) + "\n")
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console()
        for v in verdicts:
            mark = "[green]ok  [/green]" if v.ok else "[red]FAIL[/red]"
            console.print(f"{mark} {v.kind:<9} {escape(v.subject)}: {escape(v.detail)}",
                          highlight=False, soft_wrap=True)
        console.print(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
