"""A registered target is trusted only once it is what its kind needs (issue 10, item 3).

A plugin registering ``os:system`` as an inlet gets an error naming the plugin when the
inlet is resolved, and ``os.system`` is never called.
"""

from __future__ import annotations

import types

import pytest
from databay import BasePlanner, Inlet, Outlet, hookimpl
from databay.errors import PluginError
from databay.notifier import Notifier
from databay.plugins import PluginManager, set_plugin_manager
from databay.plugins.checks import check_all
from databay.plugins.kinds import KINDS


class GoodInlet(Inlet):
    def pull(self, update):
        return []


class GoodOutlet(Outlet):
    def push(self, records, update):
        pass


class HalfOutlet(Outlet):
    """Forgot push."""


class GoodNotifier(Notifier):
    def send(self, events, held_back):
        pass


class WatchingNotifier:
    """No Notifier subclass, but it observes: a notifier too."""

    @hookimpl
    def databay_transfer_failed(self, link, update, exception):
        pass


class Deduplicate:
    def __init__(self, key="id"):
        self.key = key

    def __call__(self, records):
        return records


def only_done(records):
    return [r for r in records if r.payload.get("done")]


def make_inlet(**kwargs):
    """A factory: not a class, so not an inlet."""
    return GoodInlet(**kwargs)


def registrations(by_kind: dict[str, dict]) -> types.SimpleNamespace:
    """A plugin registering ``by_kind[kind]`` (``{name: target}``) through the hook of each kind."""
    plugin = types.SimpleNamespace()
    for kind in KINDS.values():
        def register_all(register, _targets=by_kind.get(kind.name, {})):
            for name, target in _targets.items():
                register(name, target)

        setattr(plugin, kind.hook, hookimpl(register_all))
    return plugin


UNFIT = {
    ("inlet", "shell"): ("os:system", "os:system is a built-in function, not a subclass of databay.Inlet"),
    ("inlet", "factory"): (f"{__name__}:make_inlet",
                           "is a function, not a subclass of databay.Inlet"),
    ("inlet", "wrong_kind"): (f"{__name__}:GoodOutlet", "is a class, not a subclass of databay.Inlet"),
    ("outlet", "printer"): ("builtins:print", "is a built-in function, not a subclass of databay.Outlet"),
    ("outlet", "half"): (f"{__name__}:HalfOutlet", "is abstract (does not implement push)"),
    ("outlet", "module"): ("os:path", "is a module, not a subclass of databay.Outlet"),
    ("planner", "popen"): ("subprocess:Popen", "is a class, not a subclass of databay.BasePlanner"),
    ("processor", "evaluate"): ("builtins:eval", "is a built-in function, not a processor"),
    ("processor", "number"): ("os:sep", "is a 'str' object, not a processor"),
    ("processor", "mapping"): ("builtins:dict", "whose instances cannot be called with records"),
    ("processor", "no_args"): ("os:getpid", "not a processor"),
    ("notifier", "shell"): ("os:system", "is a built-in function, not a class"),
    ("notifier", "inert"): (f"{__name__}:Deduplicate", "is no Notifier subclass and implements no observer hook"),
}
FIT = {
    ("inlet", "good"): GoodInlet,
    ("outlet", "good"): f"{__name__}:GoodOutlet",
    ("planner", "schedule_again"): "databay.planners.schedule_planner:SchedulePlanner",
    ("processor", "dedupe"): Deduplicate,
    ("processor", "only_done"): f"{__name__}:only_done",
    ("notifier", "good"): GoodNotifier,
    ("notifier", "watching"): WatchingNotifier,
}


@pytest.fixture
def manager():
    by_kind: dict[str, dict] = {}
    for (kind, name), (target, _) in UNFIT.items():
        by_kind.setdefault(kind, {})[name] = target
    for (kind, name), target in FIT.items():
        by_kind.setdefault(kind, {})[name] = target
    manager = PluginManager(load_only=set()).load()
    info = manager.register(registrations(by_kind), "databay-untrusted")
    assert info.error is None  # listing imports nothing and trusts nothing yet
    return manager


@pytest.mark.parametrize(("kind", "name"), list(UNFIT))
def test_an_unfit_target_is_an_error_naming_the_plugin(manager, kind, name):
    target, problem = UNFIT[(kind, name)]
    with pytest.raises(PluginError) as caught:
        manager.resolve(kind, name)
    message = str(caught.value)
    assert message.startswith(f"{kind} '{name}' of databay-untrusted: {target} ")
    assert problem in message
    assert "a registered " + kind + " must be " in message


@pytest.mark.parametrize(("kind", "name"), list(FIT))
def test_a_fit_target_resolves(manager, kind, name):
    target = manager.resolve(kind, name)
    assert target is not None


def test_plugins_check_reports_each_unfit_target(manager):
    verdicts = {(v.kind, v.subject): v for v in check_all(manager)}
    for (kind, name), (_, problem) in UNFIT.items():
        verdict = verdicts[(kind, f"databay-untrusted:{name}")]
        assert not verdict.ok and problem in verdict.detail
    for kind, name in FIT:
        assert verdicts[(kind, f"databay-untrusted:{name}")].ok


def test_the_namespaces_refuse_an_unfit_target(clean_plugins, manager):
    set_plugin_manager(manager)
    with pytest.raises(ImportError, match="inlet 'shell' of databay-untrusted: os:system is a built-in function"):
        from databay.inlets import system  # noqa: F401
    from databay.inlets import GoodInlet as found

    assert found is GoodInlet


def test_a_pipeline_naming_an_unfit_target_is_invalid_and_runs_nothing(clean_plugins, manager, tmp_path):
    from databay.pipeline import PipelineError, load_pipeline

    set_plugin_manager(manager)
    marker = tmp_path / "owned"
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f'[[links]]\ninterval = 1\ninlets = [{{ use = "shell", command = "touch {marker}" }}]\n'
                        'outlets = ["null"]\n')
    with pytest.raises(PipelineError) as caught:
        load_pipeline(pipeline)
    assert "links[0].inlets[0] (shell): inlet 'shell' of databay-untrusted: os:system is a built-in function" in (
        "\n".join(str(p) for p in caught.value.problems))
    assert not marker.exists()


def test_an_eager_target_is_checked_too():
    manager = PluginManager(load_only=set()).load()
    manager.register(registrations({"outlet": {"eager": BasePlanner}}), "databay-eager")
    with pytest.raises(PluginError, match="outlet 'eager' of databay-eager: databay.base_planner:BasePlanner is a "
                                          "class, not a subclass of databay.Outlet"):
        manager.resolve("outlet", "eager")
