"""The ``databay`` command: the Typer application and its entry point."""

from __future__ import annotations

import sys

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


def _register_plugin_commands(strict: bool) -> None:
    from databay.plugins import get_plugin_manager

    manager = get_plugin_manager(strict=strict or None)
    for impl in manager.pm.hook.databay_register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as exc:
            from databay.printable import printable_line

            message = printable_line(f"plugin {impl.plugin_name} failed to add its commands: {exc}")
            if strict:
                raise CliError(message) from exc
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
