"""The plugins listing and ``--check`` report, free of typer (imported on the fast path)."""

from __future__ import annotations

import sys

from databay.plugins import KINDS, PluginManager, get_plugin_manager


def show_plugins(as_json: bool = False, check: bool = False) -> int:
    """Print the plugin distributions (a Rich table, or JSON); return the exit code."""
    manager = get_plugin_manager()
    if check:
        return _check(manager, as_json)
    listing = {
        "plugins": [info.as_dict() for info in manager.plugins.values()],
        "clashes": [{"kind": k, "name": n, "distributions": d} for k, n, d in manager.clashes()],
    }
    if as_json:
        _print_json(listing)
        return 0
    print_table(listing["plugins"], listing["clashes"])
    return 0


def print_table(plugins: list[dict], clashes: list[dict] | None = None, title: str = "databay plugins") -> None:
    """Print plugin descriptions (``PluginInfo.as_dict()``, as ``--json`` gives them) as a table."""
    from rich.console import Console
    from rich.table import Table

    from databay.cli.markup import line

    # Names, versions and errors come from the plugins' metadata and code: shown escaped.
    table = Table(title=line(title), title_justify="left")
    table.add_column("Plugin", style="bold", no_wrap=True)
    table.add_column("Version", no_wrap=True)
    # One line per kind, so that a narrow terminal wraps between names, never inside one.
    table.add_column("Registers")
    table.add_column("Status", no_wrap=True)
    for plugin in plugins:
        kinds = [
            f"[dim]{kind}s:[/dim] {line(', '.join(c['name'] for c in plugin[f'{kind}s']))}"
            for kind in KINDS if plugin[f"{kind}s"]
        ]
        status = "[red]broken[/red]" if plugin["error"] else "[green]ok[/green]"
        table.add_row(line(plugin["name"]), line(plugin["version"]), "\n".join(kinds) or "-", status)
    console = Console(emoji=False)
    console.print(table)
    for plugin in plugins:
        if plugin["error"]:
            console.print(f"[red]{line(plugin['name'])} is broken:[/red] {line(plugin['error'])}")
    for clash in clashes or []:
        name, dists = line(clash["name"]), [line(d) for d in clash["distributions"]]
        console.print(
            f"[yellow]Warning:[/yellow] {clash['kind']} '{name}' is registered by {' and '.join(dists)}; "
            f"use {' or '.join(f'{d}:{name}' for d in dists)}."
        )


def _check(manager: PluginManager, as_json: bool) -> int:
    from databay.plugins.checks import check_all

    verdicts = check_all(manager)
    failed = [v for v in verdicts if not v.ok]
    if as_json:
        _print_json([v.as_dict() for v in verdicts])
    else:
        from rich.console import Console

        from databay.cli.markup import line

        console = Console(emoji=False)  # "databay-email:email: ..." is no :email: emoji
        for v in verdicts:
            mark = "[green]ok  [/green]" if v.ok else "[red]FAIL[/red]"
            console.print(f"{mark} {v.kind:<9} {line(v.subject)}: {line(v.detail)}",
                          highlight=False, soft_wrap=True)
        console.print(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _print_json(data) -> None:
    import json  # only for --json: the table doesn't pay for it

    sys.stdout.write(json.dumps(data, indent=2) + "\n")
