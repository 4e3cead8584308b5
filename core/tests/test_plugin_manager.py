"""The plugin manager, in process: hooks, lazy targets, broken plugins, clashes, environment, attribute resolution.

Entry-point discovery uses real distributions: a ``*.dist-info`` folder with an
``entry_points.txt`` on ``sys.path`` is exactly what an installed distribution looks like
to ``importlib_metadata``.
"""

from __future__ import annotations

import sys
import textwrap
import types
import uuid

import databay
import pytest
from databay import Outlet, hookimpl
from databay.errors import AmbiguousComponentError, ComponentNotFoundError, PluginError
from databay.plugins import (
    CORE_DISTRIBUTION,
    PluginManager,
    get_plugin_manager,
    normalize,
    set_plugin_manager,
    settings_from_environment,
)


class KafkaOutlet(Outlet):
    def push(self, records, update):
        pass


class OutletPlugin:
    """A plugin object registering one outlet under ``name``."""

    def __init__(self, name="kafka", target=KafkaOutlet):
        self.name, self.target = name, target

    @hookimpl
    def databay_register_outlets(self, register):
        register(self.name, self.target)


class RaisingPlugin:
    @hookimpl
    def databay_register_inlets(self, register):
        register("fine_before_failing", KafkaOutlet)
        raise RuntimeError("boom in hook")


def registering_outlet(name: str, target: str) -> str:
    """The source of a plugin module registering the outlet ``name``."""
    return ("from databay import hookimpl\n\n\n@hookimpl\ndef databay_register_outlets(register):\n"
            f"    register({name!r}, {target!r})\n")


def builtins_only() -> PluginManager:
    return PluginManager(load_only=set()).load()


@pytest.fixture
def unique_module(tmp_path, monkeypatch):
    """``unique_module(source)``: write an importable module with a unique name; return the name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def make(source: str) -> str:
        name = f"dbt_mod_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        created.append(name)
        return name

    yield make
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def make_distribution(tmp_path, monkeypatch):
    """``make_distribution(dist, source)``: an installed-looking distribution whose plugin module is ``source``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(dist: str, source: str, version: str = "1.2.3") -> str:
        module = f"dbt_plugin_{uuid.uuid4().hex[:10]}"
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
                                       encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[databay]\nplugin = {module}\n", encoding="utf-8")
        created.append(module)
        return module

    yield make
    for module in created:
        sys.modules.pop(module, None)


# -- built-ins -------------------------------------------------------------------


def test_builtins_are_registered_through_the_hooks_as_the_core_plugin():
    manager = builtins_only()
    assert list(manager.plugins) == [CORE_DISTRIBUTION]
    core = manager.plugins[CORE_DISTRIBUTION]
    assert core.version == databay.__version__ and core.error is None
    assert sorted(core.hooks) == ["databay_register_inlets", "databay_register_outlets",
                                  "databay_register_planners", "databay_register_processors",
                                  "databay_register_stages"]
    names = {kind: [c.name for c in manager.components(kind)]
             for kind in ("inlet", "outlet", "planner", "processor", "stage")}
    assert names == {"inlet": ["null", "random_int", "file"], "outlet": ["null", "print", "file"],
                     "planner": ["schedule"], "processor": ["buffer"], "stage": ["sqlite"]}


def test_resolve_by_name_class_name_or_qualified_name():
    from databay.inlets.random_int_inlet import RandomIntInlet
    from databay.planners.schedule_planner import SchedulePlanner
    from databay.support.buffers import Buffer

    manager = builtins_only()
    assert manager.resolve("inlet", "random_int") is RandomIntInlet
    assert manager.resolve("inlet", "RandomIntInlet") is RandomIntInlet
    assert manager.resolve("inlet", "databay:random_int") is RandomIntInlet
    assert manager.resolve("planner", "schedule") is SchedulePlanner
    assert manager.resolve("processor", "buffer") is Buffer
    component = manager.find("outlet", "print")
    assert (component.class_name, component.qualified_name, component.import_path) == (
        "PrintOutlet", "databay:print", "databay.outlets.print_outlet:PrintOutlet")


def test_unknown_kind_and_unknown_names():
    manager = builtins_only()
    with pytest.raises(ValueError, match="unknown component kind 'gadget'"):
        manager.find("gadget", "x")
    with pytest.raises(ComponentNotFoundError, match=r"unknown outlet 'prnt' \(did you mean 'print'\?\)"):
        manager.find("outlet", "prnt")
    with pytest.raises(ComponentNotFoundError, match="registered outlets: file, null, print"):
        manager.find("outlet", "zzzzzz")
    with pytest.raises(ComponentNotFoundError, match="no plugin distribution 'nowhere' is installed"):
        manager.find("outlet", "nowhere:print")


@pytest.fixture
def nothing_installed(monkeypatch):
    """As if no plugin distribution were installed (these tests may run where some are)."""
    monkeypatch.setattr(PluginManager, "leaves_out", lambda self, distribution: False)


def test_known_but_missing_component_names_its_distribution(nothing_installed):
    with pytest.raises(ComponentNotFoundError,
                       match=r"unknown outlet 'mongo': it is provided by databay-mongo, which is not installed "
                             r"\(pip install databay-mongo\)"):
        builtins_only().find("outlet", "mongo")


def test_leaves_out_means_installed_but_not_loaded():
    assert not PluginManager(load_only=None).leaves_out("pluggy")  # everything loads
    assert PluginManager(load_only={"databay-csv"}).leaves_out("pluggy")  # installed, not selected
    assert not PluginManager(load_only={"pluggy"}).leaves_out("pluggy")
    assert not PluginManager(load_only=set()).leaves_out("no-such-distribution-here")


# -- plugins registered in process -----------------------------------------------


def test_register_a_plugin_object():
    manager = builtins_only()
    info = manager.register(OutletPlugin(), "My_Kafka.Plugin", "2.0")
    assert info.name == "my-kafka-plugin" and info.version == "2.0"
    assert info.hooks == ["databay_register_outlets"]
    assert manager.resolve("outlet", "kafka") is KafkaOutlet
    assert manager.resolve("outlet", "KafkaOutlet") is KafkaOutlet
    assert manager.resolve("outlet", "my-kafka-plugin:kafka") is KafkaOutlet
    assert info.as_dict()["outlets"] == [
        {"name": "kafka", "class": "KafkaOutlet", "target": f"{__name__}:KafkaOutlet"}]


def test_lazy_targets_are_imported_only_when_resolved(unique_module):
    module = unique_module("""
        from databay import Outlet

        class HeavyOutlet(Outlet):
            def push(self, records, update):
                pass
    """)
    manager = builtins_only()
    manager.register(OutletPlugin("heavy", f"{module}:HeavyOutlet"), "heavy-dist")
    component = manager.find("outlet", "HeavyOutlet")  # the class name is known without importing
    assert component.class_name == "HeavyOutlet"
    assert module not in sys.modules
    cls = manager.resolve("outlet", "heavy")
    assert module in sys.modules
    assert cls is sys.modules[module].HeavyOutlet
    assert manager.resolve("outlet", "heavy") is cls


def test_builtins_are_lazy_too():
    manager = builtins_only()
    assert all(isinstance(c.target, str) for kind in ("inlet", "outlet") for c in manager.components(kind))


def test_lazy_target_that_cannot_be_imported(unique_module):
    manager = builtins_only()
    manager.register(OutletPlugin("ghost", "dbt_no_such_module_xyz:Ghost"), "ghost-dist")
    with pytest.raises(PluginError, match=r"outlet 'ghost' of ghost-dist cannot be imported from "
                                          r"dbt_no_such_module_xyz:Ghost: No module named"):
        manager.resolve("outlet", "ghost")
    module = unique_module("X = 1\n")
    manager.register(OutletPlugin("absent", f"{module}:Missing"), "absent-dist")
    with pytest.raises(PluginError, match=rf"outlet 'absent' of absent-dist: {module}:Missing does not exist"):
        manager.resolve("outlet", "absent")


def test_a_hook_that_raises_is_isolated_and_reported():
    manager = builtins_only()
    broken = manager.register(RaisingPlugin(), "broken-dist")
    working = manager.register(OutletPlugin(), "working-dist")
    assert broken.error == (f"{__name__}.databay_register_inlets failed: RuntimeError: boom in hook")
    assert broken.components == []
    assert [c.name for c in manager.components("inlet")] == ["null", "random_int", "file"]
    assert working.error is None
    assert manager.resolve("outlet", "kafka") is KafkaOutlet
    with pytest.raises(ComponentNotFoundError, match="broken plugins not loaded: broken-dist"):
        manager.find("inlet", "fine_before_failing")


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("Kafka", KafkaOutlet, "outlet name 'Kafka' must be short and lowercase"),
        ("kafka", "not a target", "outlet 'kafka': target 'not a target' is not 'package.module:Attr'"),
        ("kafka", 42, "outlet 'kafka': target must be a class, a callable or 'module:Attr'"),
    ],
)
def test_invalid_registrations_break_only_their_plugin(name, target, message):
    manager = builtins_only()
    info = manager.register(OutletPlugin(name, target), "bad-dist")
    assert message in info.error
    assert manager.resolve("outlet", "print").__name__ == "PrintOutlet"


def test_a_plugin_whose_hook_does_not_match_the_spec_is_reported():
    class WrongSignature:
        @hookimpl
        def databay_register_outlets(self, register, extra):
            pass

    manager = builtins_only()
    info = manager.register(WrongSignature(), "wrong-dist")
    assert info.error.startswith("invalid plugin ")
    assert "extra" in info.error


def test_registering_a_name_twice_in_one_plugin_is_an_error():
    class Twice:
        @hookimpl
        def databay_register_outlets(self, register):
            register("kafka", KafkaOutlet)
            register("kafka", KafkaOutlet)

    info = builtins_only().register(Twice(), "twice-dist")
    assert "outlet 'kafka' is registered twice" in info.error


def test_strict_mode_raises_for_a_broken_plugin():
    manager = PluginManager(load_only=set(), strict=True).load()
    with pytest.raises(PluginError, match="plugin broken-dist is broken: .*boom in hook"):
        manager.register(RaisingPlugin(), "broken-dist")


def test_name_clash_names_both_distributions_and_the_qualified_form():
    manager = builtins_only()
    manager.register(OutletPlugin(), "kafka-one")

    class OtherKafka(KafkaOutlet):
        pass

    manager.register(OutletPlugin("kafka", OtherKafka), "kafka-two")
    with pytest.raises(AmbiguousComponentError) as caught:
        manager.find("outlet", "kafka")
    assert str(caught.value) == (
        "outlet 'kafka' is registered by both kafka-one and kafka-two; "
        "use a qualified name: 'kafka-one:kafka', 'kafka-two:kafka'"
    )
    assert manager.resolve("outlet", "kafka-one:kafka") is KafkaOutlet
    assert manager.resolve("outlet", "kafka-two:kafka") is OtherKafka
    assert manager.resolve("outlet", "OtherKafka") is OtherKafka  # class names still tell them apart
    assert manager.clashes() == [("outlet", "kafka", ["kafka-one", "kafka-two"])]


def test_a_plugin_may_reuse_a_builtin_name_through_qualification():
    manager = builtins_only()

    class FancyPrint(KafkaOutlet):
        pass

    manager.register(OutletPlugin("print", FancyPrint), "fancy")
    with pytest.raises(AmbiguousComponentError, match="databay and fancy"):
        manager.find("outlet", "print")
    assert manager.resolve("outlet", "fancy:print") is FancyPrint


# -- discovery through entry points and the environment --------------------------


def test_entry_point_distributions_are_discovered_and_isolated(make_distribution):
    make_distribution("dbt-good", registering_outlet("dbt_good", "databay.outlets.null_outlet:NullOutlet"))
    make_distribution("dbt-broken", "raise ImportError('missing client library')\n")
    manager = PluginManager().load()
    good, broken = manager.plugins["dbt-good"], manager.plugins["dbt-broken"]
    assert (good.version, good.error) == ("1.2.3", None)
    assert [c.name for c in good.components] == ["dbt_good"]
    assert broken.error.startswith("cannot import dbt_plugin_")
    assert broken.error.endswith(": ImportError: missing client library")
    assert manager.resolve("outlet", "dbt_good").__name__ == "NullOutlet"


def test_load_only_selected_distributions(make_distribution):
    make_distribution("dbt-one", "from databay import hookimpl\n")
    make_distribution("dbt-two", "from databay import hookimpl\n")
    manager = PluginManager(load_only={"dbt-two"}).load()
    assert "dbt-one" not in manager.plugins
    assert "dbt-two" in manager.plugins
    assert sorted(manager.plugins) == ["databay", "dbt-two"]


def test_a_plugin_that_exits_on_import_is_reported(make_distribution):
    make_distribution("dbt-exit", "import sys\nsys.exit(3)\n")
    manager = PluginManager(load_only={"dbt-exit"}).load()
    assert manager.plugins["dbt-exit"].error.endswith(": SystemExit: 3")


def test_clash_between_installed_distributions(make_distribution):
    source = """
        from databay import hookimpl

        @hookimpl
        def databay_register_inlets(register):
            register("dbt_same", "databay.inlets.null_inlet:NullInlet")
    """
    make_distribution("dbt-left", source)
    make_distribution("dbt-right", source)
    manager = PluginManager(load_only={"dbt-left", "dbt-right"}).load()
    with pytest.raises(AmbiguousComponentError, match="registered by both dbt-left and dbt-right"):
        manager.find("inlet", "dbt_same")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", set()), (" , ", set()), ("Databay_HTTP, dbt.one", {"databay-http", "dbt-one"})],
)
def test_databay_load_plugins_parsing(monkeypatch, raw, expected):
    monkeypatch.delenv("DATABAY_STRICT_PLUGINS", raising=False)
    if raw is None:
        monkeypatch.delenv("DATABAY_LOAD_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("DATABAY_LOAD_PLUGINS", raw)
    assert settings_from_environment() == (expected, False)


@pytest.mark.parametrize(("raw", "strict"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_databay_strict_plugins_parsing(monkeypatch, raw, strict):
    monkeypatch.delenv("DATABAY_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("DATABAY_STRICT_PLUGINS", raw)
    assert settings_from_environment() == (None, strict)


def test_normalize():
    assert normalize("Databay_HTTP") == "databay-http"
    assert normalize("a..b--c") == "a-b-c"


def test_environment_drives_the_process_wide_manager(clean_plugins, monkeypatch, make_distribution):
    make_distribution("dbt-env", "from databay import hookimpl\n")
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    assert list(get_plugin_manager().plugins) == ["databay"]
    assert get_plugin_manager() is get_plugin_manager()
    from databay.plugins import reset_plugin_manager

    reset_plugin_manager()
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "dbt-env")
    assert sorted(get_plugin_manager().plugins) == ["databay", "dbt-env"]


def test_strict_environment_makes_a_broken_plugin_an_error(clean_plugins, monkeypatch, make_distribution):
    make_distribution("dbt-strict", "raise RuntimeError('broken on purpose')\n")
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "dbt-strict")
    monkeypatch.setenv("DATABAY_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin dbt-strict is broken: cannot import .*broken on purpose"):
        get_plugin_manager()
    from databay.plugins import reset_plugin_manager

    reset_plugin_manager()
    monkeypatch.delenv("DATABAY_STRICT_PLUGINS")
    assert "broken on purpose" in get_plugin_manager().plugins["dbt-strict"].error


# -- databay.inlets / databay.outlets / databay.planners -------------------------


def test_component_modules_resolve_builtins(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    from databay.inlets import FileInlet, NullInlet, RandomIntInlet
    from databay.outlets import FileOutlet, NullOutlet, PrintOutlet
    from databay.planners import SchedulePlanner

    assert (NullInlet.__module__, RandomIntInlet.__module__, FileInlet.__module__) == (
        "databay.inlets.null_inlet", "databay.inlets.random_int_inlet", "databay.inlets.file_inlet")
    assert (NullOutlet.__module__, PrintOutlet.__module__, FileOutlet.__module__) == (
        "databay.outlets.null_outlet", "databay.outlets.print_outlet", "databay.outlets.file_outlet")
    assert SchedulePlanner.__module__ == "databay.planners.schedule_planner"


def test_component_modules_resolve_plugin_components_by_class_name(clean_plugins, monkeypatch, make_distribution):
    make_distribution("dbt-attr", registering_outlet("kafka", f"{__name__}:KafkaOutlet"))
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "dbt-attr")
    import databay.outlets

    assert databay.outlets.KafkaOutlet.__name__ == "KafkaOutlet"


def test_known_but_missing_component_is_an_import_error_naming_the_distribution(clean_plugins, monkeypatch,
                                                                                nothing_installed):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    with pytest.raises(ImportError) as caught:
        from databay.outlets import MongoOutlet  # noqa: F401
    assert str(caught.value) == ("MongoOutlet is provided by the plugin distribution databay-mongo, which is "
                                 "not installed. Install it with: pip install databay-mongo")
    with pytest.raises(ImportError, match="pip install databay-http"):
        from databay.inlets import HttpInlet  # noqa: F401
    with pytest.raises(ImportError, match="pip install databay-aps"):
        from databay.planners import ApsPlanner  # noqa: F401


def test_a_known_component_of_a_broken_plugin_is_an_import_error_naming_it_broken(clean_plugins):
    broken = types.ModuleType("broken_mongo")

    @hookimpl
    def databay_register_outlets(register):
        raise RuntimeError("pymongo is missing")

    broken.databay_register_outlets = databay_register_outlets
    manager = PluginManager(load_only=set()).load()
    manager.register(broken, "databay-mongo")
    set_plugin_manager(manager)
    with pytest.raises(ImportError) as caught:
        from databay.outlets import MongoOutlet  # noqa: F401
    assert "broken plugins not loaded: databay-mongo" in str(caught.value)
    assert "not installed" not in str(caught.value) and "leaves out" not in str(caught.value)


class MongoOutlet(Outlet):
    """Stands in for databay-mongo's outlet in the legacy module path tests."""

    def push(self, records, update):
        pass


class MongoCollectionNotFound(Exception):
    """Defined next to the outlet, as databay 0.3's mongo_outlet module did."""


def test_databay_03_module_paths_resolve_plugin_components(clean_plugins, monkeypatch, make_distribution):
    make_distribution("dbt-legacy", registering_outlet("mongo", f"{__name__}:MongoOutlet"))
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "dbt-legacy")
    from databay.outlets.mongo_outlet import MongoCollectionNotFound as found_error
    from databay.outlets.mongo_outlet import MongoOutlet as found_outlet

    assert found_outlet is MongoOutlet and found_error is MongoCollectionNotFound
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        from databay.outlets.mongo_outlet import Nope  # noqa: F401


def test_databay_03_module_paths_say_what_to_install(clean_plugins, monkeypatch, nothing_installed):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    for module, name, provider in [("databay.inlets.http_inlet", "HttpInlet", "databay-http"),
                                   ("databay.outlets.mongo_outlet", "MongoOutlet", "databay-mongo"),
                                   ("databay.outlets.csv_outlet", "CsvOutlet", "databay-csv"),
                                   ("databay.planners.aps_planner", "ApsPlanner", "databay-aps")]:
        with pytest.raises(ImportError, match=f"{name} is provided by the plugin distribution {provider}"):
            exec(f"from {module} import {name}")


def test_unknown_component_attribute(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    import databay.outlets

    with pytest.raises(AttributeError, match="module 'databay.outlets' has no attribute 'NoSuchOutlet'"):
        databay.outlets.NoSuchOutlet  # noqa: B018
    with pytest.raises(AttributeError):
        databay.outlets.__wrapped__  # noqa: B018


def test_root_package_exports(clean_plugins):
    from databay.base_planner import BasePlanner
    from databay.inlet import Inlet
    from databay.link import Link

    assert databay.Inlet is Inlet and databay.Link is Link and databay.BasePlanner is BasePlanner
    assert databay.load_plugins() is get_plugin_manager()
    with pytest.raises(AttributeError, match="module 'databay' has no attribute 'Nope'"):
        databay.Nope  # noqa: B018
    assert {"Record", "Update", "Inlet", "Outlet", "Link", "BasePlanner", "hookimpl"} <= set(dir(databay))

