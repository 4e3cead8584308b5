"""The ``databay`` command: the Typer application and its entry point."""

from __future__ import annotations

import sys
from typing import Any

import typer

from databay.cli.errors import CliError, exit_on_error

app = typer.Typer(
    name="databay",
    help="Scheduled data transfer: list plugins, inspect components, check, schedule and run pipelines, "
         "operate their stages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from databay import __version__

        print(f"databay {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    # A plain bool: typer coerces a None default through pydantic, which costs ~30 ms of imports.
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    strict_plugins: bool = typer.Option(
        False, "--strict-plugins", help="Fail on a broken plugin (also DATABAY_STRICT_PLUGINS=1)."
    ),
) -> None:
    """databay: scheduled data transfer."""


def _register_builtin_commands(service_options: list | None = None) -> None:
    from databay.cli import (
        inspect_cmd,
        install_cmd,
        plugin_cmd,
        plugins_cmd,
        run_cmd,
        schedule_cmd,
        stage_cmd,
        validate_cmd,
    )

    app.command("plugins")(plugins_cmd.plugins)
    app.command("inspect")(inspect_cmd.inspect_component)
    app.command("validate")(validate_cmd.validate)
    app.command("run")(run_cmd.command(service_options or []))
    app.command("schedule")(schedule_cmd.schedule)
    app.command("stage")(stage_cmd.stage)
    app.command("install")(install_cmd.install)
    app.command("uninstall")(install_cmd.uninstall)
    app.add_typer(plugin_cmd.app, name="plugin")


def _service_options(strict: bool) -> list:
    """The options services add to ``databay run`` (a service whose class cannot be loaded
    adds none; ``databay plugins`` says why)."""
    from databay.cli.run_cmd import ServiceOption
    from databay.errors import PluginError
    from databay.plugins import get_plugin_manager

    options = []
    for component in get_plugin_manager(strict=strict or None).components("service"):
        try:
            service = component.load()
        except PluginError:
            if strict:
                raise
            continue
        if service.option:
            options.append(ServiceOption(component.name, service.option, service.option_metavar,
                                         f"{service.option_help} ({component.distribution})".strip()))
    return options


def _command_name(info: Any) -> str | None:
    """The name typer gives a registered command or group, by typer's own rules (a
    command's callback's; a group's from ``add_typer``, its callback or its ``Typer``);
    ``None`` for a group without one, whose commands join its parent's."""
    from typer.main import get_command_name, solve_typer_info_defaults
    from typer.models import TyperInfo

    if isinstance(info, TyperInfo):
        return solve_typer_info_defaults(info).name or None
    return info.name or get_command_name(info.callback.__name__)


def _command_names(infos: list[Any]) -> set[str]:
    """The names of the commands ``infos`` (registered commands and groups) add to their parent."""
    names: set[str] = set()
    for info in infos:
        name = _command_name(info)
        if name is None:
            group = info.typer_instance
            names |= _command_names([*group.registered_commands, *group.registered_groups])
        else:
            names.add(name)
    return names


def _register_plugin_commands(strict: bool) -> None:
    """Let each plugin add its commands; those of a plugin naming one like core's are taken
    out again, so that ``databay plugins`` and the others always mean core's."""
    from databay.plugins import get_plugin_manager
    from databay.printable import printable_line

    builtin = _command_names([*app.registered_commands, *app.registered_groups])
    manager = get_plugin_manager(strict=strict or None)
    for impl in manager.pm.hook.databay_register_commands.get_hookimpls():
        commands, groups = len(app.registered_commands), len(app.registered_groups)
        try:
            impl.function(app=app)
        except Exception as exc:
            message = f"plugin {impl.plugin_name} failed to add its commands: {exc}"
        else:
            taken = sorted(_command_names([*app.registered_commands[commands:], *app.registered_groups[groups:]])
                           & builtin)
            if not taken:
                continue
            del app.registered_commands[commands:], app.registered_groups[groups:]
            message = (f"plugin {impl.plugin_name.split(':', 1)[0]} adds commands named like databay's own "
                       f"({', '.join(taken)}): its commands are left out")
        message = printable_line(message)
        if strict:
            raise CliError(message)
        print(f"Warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Run the ``databay`` command with ``argv`` (default: the process arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    with exit_on_error(debug="--debug" in args):
        strict = "--strict-plugins" in args
        plugins = "--version" not in args
        _register_builtin_commands(_service_options(strict) if plugins else None)
        if plugins:
            _register_plugin_commands(strict)
        app(args=args, prog_name="databay")
