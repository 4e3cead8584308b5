"""``databay inspect NAME``: what a registered component is and what it accepts."""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

import typer

from databay.cli.errors import EXIT_USAGE, CliError
from databay.errors import AmbiguousComponentError, ComponentNotFoundError, PluginError
from databay.plugins import KINDS, Component, get_plugin_manager
from databay.printable import printable_line


def _matches(name: str, kind: str | None) -> list[Component]:
    manager = get_plugin_manager()
    kinds = [kind] if kind else list(KINDS)
    found: list[Component] = []
    errors: list[str] = []
    for each in kinds:
        try:
            found.append(manager.find(each, name))
        except ComponentNotFoundError as exc:
            errors.append(str(exc))
        except AmbiguousComponentError as exc:
            raise CliError(printable_line(str(exc)), EXIT_USAGE) from exc
    if not found:
        detail = errors[0] if kind else next((e for e in errors if "did you mean" in e or "pip install" in e),
                                             f"no inlet, outlet, planner, processor or notifier is named '{name}'")
        raise CliError(printable_line(detail), EXIT_USAGE)
    return found


def describe(component: Component) -> dict[str, Any]:
    """Everything ``inspect`` shows about ``component``, JSON-ready."""
    from databay.introspect import constructor_parameters, metadata_keys

    target = component.load()
    manager = get_plugin_manager()
    params, open_kwargs = constructor_parameters(target)
    return {
        "kind": component.kind,
        "name": component.name,
        "qualified_name": component.qualified_name,
        "class": component.import_path,
        "distribution": component.distribution,
        "version": manager.plugins[component.distribution].version,
        "parameters": [p.as_dict() for p in params],
        "accepts_extra_keywords": open_kwargs,
        "metadata_keys": metadata_keys(target),
        "is_async": {
            "pull": inspect.iscoroutinefunction(getattr(target, "pull", None)),
            "push": inspect.iscoroutinefunction(getattr(target, "push", None)),
        } if component.kind in ("inlet", "outlet") else None,
        "doc": inspect.getdoc(target) or "",
    }


def inspect_component(
    name: str = typer.Argument(..., help="Component name, class name or distribution:name."),
    kind: str | None = typer.Option(None, "--kind", "-k", help=f"One of: {', '.join(KINDS)}."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show a component's kind, class, distribution, parameters, metadata keys and docs."""
    if kind is not None and kind not in KINDS:
        raise CliError(f"--kind must be one of {', '.join(KINDS)}, not '{kind}'", EXIT_USAGE)
    try:
        details = [describe(c) for c in _matches(name, kind)]
    except PluginError as exc:
        raise CliError(printable_line(str(exc))) from exc
    if as_json:
        sys.stdout.write(json.dumps(details if len(details) > 1 else details[0], indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    from databay.cli.markup import line, lines

    # Everything below comes from the plugin (names, metadata, annotations, docs): escaped.
    console = Console(emoji=False)
    for info in details:
        console.print(f"[bold]{info['kind']} {line(info['name'])}[/bold]  ({line(info['qualified_name'])})")
        console.print(f"  class:        {line(info['class'])}")
        console.print(f"  distribution: {line(info['distribution'])} {line(info['version'])}")
        table = Table("parameter", "type", "default", box=None, padding=(0, 2))
        for p in info["parameters"]:
            default = "[red]required[/red]" if p["required"] else line(repr(p["default"]))
            table.add_row(line(p["name"]), line(p["type"] or "-"), default)
        if info["accepts_extra_keywords"]:
            table.add_row("**kwargs", "-", "-")
        console.print(table)
        if info["metadata_keys"]:
            console.print("  metadata keys:")
            for attr, key in info["metadata_keys"].items():
                console.print(f"    {line(attr)} = {line(repr(key))}")
        if info["doc"]:
            console.print()
            # The docstring keeps its own line breaks: re-wrapping them at the console's
            # width would break its lines in two.
            console.print(lines(info["doc"]), highlight=False, soft_wrap=True)
        console.print()
