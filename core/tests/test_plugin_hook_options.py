"""How databay calls hooks: one implementation at a time, so call options are refused at registration."""

from __future__ import annotations

import types

import pytest
from databay import Outlet, hookimpl
from databay.errors import PluginError
from databay.observers import add_observer
from databay.plugins import PluginManager, set_plugin_manager


class QuietOutlet(Outlet):
    def push(self, records, update):
        pass


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, function)
    return module


def builtins_only() -> PluginManager:
    return PluginManager(load_only=set()).load()


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper", "tryfirst", "trylast"])
def test_a_plugin_with_a_call_option_is_refused_naming_the_hook(option):
    if option.endswith("wrapper"):
        @hookimpl(**{option: True})
        def databay_register_outlets(register):
            register("quiet", QuietOutlet)
            yield
    else:
        @hookimpl(**{option: True})
        def databay_register_outlets(register):
            register("quiet", QuietOutlet)

    def module():
        return plugin_module("dbt_options", databay_register_outlets=databay_register_outlets)

    manager = builtins_only()
    info = manager.register(module(), "dbt-options")
    assert info.error == (
        f"invalid plugin dbt_options: databay_register_outlets ({option}=True): databay calls each hook "
        f"implementation on its own, in registration order, so it supports no wrapper, hookwrapper, tryfirst or "
        f"trylast; implement the hook as a plain @hookimpl")
    assert info.components == [] and info.modules == []
    assert not manager.pm.has_plugin("dbt-options:dbt_options")
    with pytest.raises(PluginError, match=rf"plugin dbt-options is broken: .*\({option}=True\)"):
        PluginManager(load_only=set(), strict=True).load().register(module(), "dbt-options")


@hookimpl
def observes(link, update):
    pass


@hookimpl(wrapper=True)
def wraps(link, update, exception):
    yield


@hookimpl
def takes_too_much(link, update, exception, extra):
    pass


@hookimpl
def raises(register):
    raise RuntimeError("no client library")


@pytest.mark.parametrize(("hook", "implementation", "reason"), [
    ("databay_transfer_failed", wraps, "databay_transfer_failed (wrapper=True)"),
    ("databay_transfer_failed", takes_too_much, "extra"),
    ("databay_register_inlets", raises, "RuntimeError: no client library"),
])
def test_a_broken_plugin_leaves_none_of_its_hooks_registered(hook, implementation, reason):
    manager = builtins_only()
    info = manager.register(plugin_module("dbt_broken", databay_transfer_started=observes, **{hook: implementation}),
                            "dbt-broken")
    assert reason in info.error
    assert manager.pm.hook.databay_transfer_started.get_hookimpls() == []


def test_an_observer_added_in_process_with_a_wrapper_is_refused(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")

    class Timing:
        @hookimpl(hookwrapper=True)
        def databay_transfer_finished(self, link, update, stats):
            yield

    with pytest.raises(Exception, match=r"databay_transfer_finished \(hookwrapper=True\)"):
        add_observer(Timing())


def test_observers_see_plugins_registered_later_without_being_told(clean_plugins, run_transfer):
    from databay import Link
    from databay.inlets.null_inlet import NullInlet

    seen = []
    watcher = plugin_module("dbt_watcher", databay_transfer_finished=hookimpl(
        lambda link, update, stats: seen.append(str(update))))
    manager = builtins_only()
    set_plugin_manager(manager)
    link = Link(NullInlet(), QuietOutlet(), interval=1, tags="watched")
    run_transfer(link)
    manager.register(watcher, "dbt-watcher")  # no observe() needed
    run_transfer(link)
    assert seen == ["watched.1"]


def test_registration_hooks_run_in_registration_order():
    order = []

    def plugin(label):
        @hookimpl
        def databay_register_processors(register):
            order.append(label)

        return plugin_module(f"dbt_{label}", databay_register_processors=databay_register_processors)

    manager = builtins_only()
    for label in ("first", "second", "third"):
        manager.register(plugin(label), f"dbt-{label}")
    assert order == ["first", "second", "third"]
