"""Commands plugins add (``databay_register_commands``) never replace databay's own: so
``databay plugins`` always means core's, and it can run without the Typer application."""

from __future__ import annotations

import importlib

import pytest
import typer
from databay import hookimpl
from databay.cli.errors import CliError

cli_main = importlib.import_module("databay.cli.main")  # the module: databay.cli.main is also a function


class Shadowing:
    @hookimpl
    def databay_register_commands(self, app):
        @app.command("plugins")
        def plugins():
            """Not core's."""

        @app.command()
        def say_hello():
            """Hello."""


class Adding:
    @hookimpl
    def databay_register_commands(self, app):
        @app.command()
        def say_goodbye():
            """Goodbye."""


@pytest.fixture
def fresh_app(monkeypatch):
    app = typer.Typer()
    app.command("plugins")(lambda: None)
    app.command("inspect")(lambda: None)
    monkeypatch.setattr(cli_main, "app", app)
    return app


def names(app) -> list[str]:
    return [cli_main._command_name(info) for info in app.registered_commands]


def test_a_plugin_naming_a_command_like_core_s_adds_none_and_is_named(fresh_app, databay_plugin_manager, capsys):
    databay_plugin_manager(Shadowing(), distribution="databay-shadow")
    cli_main._register_plugin_commands(strict=False)
    assert names(fresh_app) == ["plugins", "inspect"]
    assert ("Warning: plugin databay-shadow adds commands named like databay's own (plugins): its commands "
            "are left out") in capsys.readouterr().err


def test_with_strict_plugins_it_is_an_error(fresh_app, databay_plugin_manager):
    databay_plugin_manager(Shadowing(), distribution="databay-shadow")
    with pytest.raises(CliError, match="databay-shadow adds commands named like databay's own"):
        cli_main._register_plugin_commands(strict=True)


def test_other_commands_are_added(fresh_app, databay_plugin_manager, capsys):
    databay_plugin_manager(Adding(), distribution="databay-adding")
    cli_main._register_plugin_commands(strict=False)
    assert names(fresh_app) == ["plugins", "inspect", "say-goodbye"]
    assert capsys.readouterr().err == ""


class GroupNamedByItsTyper:
    """Groups named as typer allows: by add_typer(name=...), by their Typer(name=...), or
    none (their commands then join the parent's)."""

    def __init__(self, name):
        self.name = name

    @hookimpl
    def databay_register_commands(self, app):
        named = typer.Typer(name=self.name)
        named.command("a")(lambda: None)
        named.command("b")(lambda: None)
        app.add_typer(named)


class NamelessGroup:
    @hookimpl
    def databay_register_commands(self, app):
        nameless = typer.Typer()
        nameless.command("inspect")(lambda: None)
        nameless.command("other")(lambda: None)
        app.add_typer(nameless)


def test_a_group_named_by_its_typer_is_added(fresh_app, databay_plugin_manager, capsys):
    databay_plugin_manager(GroupNamedByItsTyper("extra"), distribution="databay-extra")
    cli_main._register_plugin_commands(strict=False)
    assert [cli_main._command_name(info) for info in fresh_app.registered_groups] == ["extra"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("plugin", "taken"), [(GroupNamedByItsTyper("plugins"), "plugins"),
                                               (NamelessGroup(), "inspect")])
def test_a_group_taking_a_name_of_core_s_is_left_out(plugin, taken, fresh_app, databay_plugin_manager, capsys):
    databay_plugin_manager(plugin, distribution="databay-group")
    cli_main._register_plugin_commands(strict=False)
    assert names(fresh_app) == ["plugins", "inspect"]
    assert fresh_app.registered_groups == []
    assert (f"Warning: plugin databay-group adds commands named like databay's own ({taken}): its commands "
            f"are left out") in capsys.readouterr().err
