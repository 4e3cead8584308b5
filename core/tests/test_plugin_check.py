"""``databay plugins --check`` in process: one verdict per component, each rule failing on its own."""

from __future__ import annotations

import pytest
from databay import Inlet, Outlet, hookimpl
from databay.plugins import PluginManager
from databay.plugins.checks import check_all


class GoodOutlet(Outlet):
    def push(self, records, update):
        pass


class AbstractInlet(Inlet):
    """Forgot to implement pull."""


class OpaqueProcessor(dict):
    """A processor class whose constructor (dict's) has no signature to read."""

    def __call__(self, records):
        return records


class Components:
    @hookimpl
    def databay_register_outlets(self, register):
        register("good", GoodOutlet)
        register("not_an_outlet", "databay.inlets.null_inlet:NullInlet")
        register("ghost", "databay.outlets.no_such_module:Ghost")
        register("print", GoodOutlet)  # core's built-in name

    @hookimpl
    def databay_register_inlets(self, register):
        register("abstract", AbstractInlet)

    @hookimpl
    def databay_register_processors(self, register):
        register("opaque", OpaqueProcessor)  # a processor, but its signature cannot be read
        register("not_callable", "databay.plugins:KINDS")


class Commands:
    @hookimpl
    def databay_register_commands(self, app):
        @app.command()
        def say_hello():
            """Say hello."""


class FailingCommands:
    @hookimpl
    def databay_register_commands(self, app):
        raise RuntimeError("cannot add my command")


@pytest.fixture
def verdicts():
    manager = PluginManager(load_only=set()).load()
    manager.register(Components(), "databay-components")
    manager.register(Commands(), "databay-commands")
    manager.register(FailingCommands(), "databay-failing")
    return {(v.kind, v.subject): v for v in check_all(manager)}


@pytest.mark.parametrize(
    "kind, subject, ok, detail",
    [
        ("outlet", "databay-components:good", True, "GoodOutlet"),
        ("outlet", "databay-components:not_an_outlet", False, "not a subclass of databay.Outlet"),
        ("outlet", "databay-components:ghost", False, "does not import"),
        ("outlet", "databay-components:print", False, "also registered by another distribution"),
        ("outlet", "databay:print", False, "also registered by another distribution"),
        ("inlet", "databay-components:abstract", False, "is abstract (does not implement pull)"),
        ("processor", "databay-components:opaque", False, "constructor cannot be inspected"),
        ("processor", "databay-components:not_callable", False, "is a 'tuple' object, not a processor"),
        ("processor", "databay:buffer", True, "Buffer"),
        ("commands", "databay-commands", True, "adds say-hello"),
        ("commands", "databay-failing", False, "RuntimeError: cannot add my command"),
    ],
)
def test_each_rule_has_its_verdict(verdicts, kind, subject, ok, detail):
    verdict = verdicts[(kind, subject)]
    assert verdict.ok is ok
    assert detail in verdict.detail
    assert verdict.as_dict()["distribution"] == subject.split(":")[0]


def test_a_plugin_that_cannot_load_is_a_failed_verdict():
    class Invalid:
        @hookimpl
        def databay_register_outlets(self, register, unexpected):  # not the spec's arguments
            pass

    manager = PluginManager(load_only=set()).load()
    manager.register(Invalid(), "databay-invalid")
    (verdict,) = [v for v in check_all(manager) if v.subject == "databay-invalid"]
    assert verdict.kind == "plugin" and not verdict.ok and "invalid plugin" in verdict.detail
