"""The kit for a plugin distribution as a whole: ``plugin_listing`` (what a fresh interpreter
listing one plugin registers and imports) and ``PluginTester``, which must fail a plugin
breaking any of its rules."""

from __future__ import annotations

import os
import sys

import pytest
from databay.testing import PluginListing, PluginTester, plugin_listing


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site(dist, plugin_source, **modules)``: a distribution a fresh interpreter finds installed."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(folder))  # this process finds it too

    def install(dist: str, plugin_source: str, **modules: str) -> None:
        package = dist.replace("-", "_")
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text("")
        (folder / package / "plugin.py").write_text(plugin_source)
        for name, source in modules.items():
            (folder / package / f"{name}.py").write_text(source)
        info = folder / f"{package}-0.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
        (info / "entry_points.txt").write_text(f"[databay]\nplugin = {package}.plugin\n")

    yield install
    for module in [m for m in sys.modules if m.split(".")[0] == "dbt_listed"]:  # imported by this test
        del sys.modules[module]


LAZY = ("from databay import hookimpl\n\n@hookimpl\ndef databay_register_outlets(register):\n"
        "    register('slow', 'dbt_listed.outlet:SlowOutlet')\n")


def test_a_lazy_plugin_imports_nothing_watched(site):
    site("dbt-listed", LAZY, outlet="import fractions\nfrom databay import Outlet\nclass SlowOutlet(Outlet): pass\n")
    listing = plugin_listing("dbt-listed", watch=["dbt_listed.outlet", "fractions"])
    assert listing == PluginListing("0.3", {"outlet": {"slow": "dbt_listed.outlet:SlowOutlet"}}, [], None)


def test_an_eager_plugin_is_caught_importing_its_client(site):
    site("dbt-listed", "import dbt_listed.client\n" + LAZY, client="import fractions\n")
    listing = plugin_listing("dbt-listed", watch=["dbt_listed", "fractions"])
    assert listing.imported == ["dbt_listed", "dbt_listed.client", "dbt_listed.plugin", "fractions"]


def test_a_broken_plugin_is_listed_with_its_error(site):
    site("dbt-listed", "raise ImportError('no client library')\n")
    listing = plugin_listing("dbt-listed")
    assert listing.components == {} and "ImportError: no client library" in listing.error


def test_a_distribution_that_is_not_installed():
    with pytest.raises(LookupError, match="dbt-nowhere is not installed"):
        plugin_listing("dbt-nowhere")


SLOW_OUTLET = "from databay import Outlet\nclass SlowOutlet(Outlet):\n    def push(self, records, update): pass\n"


class ListedPlugin(PluginTester):
    __test__ = False  # run by the tests below, on the distribution each installs
    distribution = "dbt-listed"
    components = {"outlet": {"slow": "dbt_listed.outlet:SlowOutlet"}}
    watch = ["dbt_listed.outlet"]


def rules_broken(databay_load_plugins) -> dict[str, str]:
    """``{test name: failure}`` of every PluginTester test ListedPlugin fails."""
    broken = {}
    tester = ListedPlugin()
    for name in [n for n in dir(PluginTester) if n.startswith("test_")]:
        method = getattr(tester, name)
        try:
            method(databay_load_plugins) if "databay_load_plugins" in method.__code__.co_varnames else method()
        except Exception as exc:  # an assertion, or what a resolution raised
            broken[name] = str(exc)
    return broken


def test_plugin_tester_passes_a_good_plugin(site, databay_load_plugins):
    site("dbt-listed", LAZY, outlet=SLOW_OUTLET)
    assert rules_broken(databay_load_plugins) == {}


def test_plugin_tester_fails_a_plugin_importing_its_components(site, databay_load_plugins):
    site("dbt-listed", "import dbt_listed.outlet\n" + LAZY, outlet=SLOW_OUTLET)
    broken = rules_broken(databay_load_plugins)
    assert list(broken) == ["test_listing_finds_the_components_without_importing_them"]
    assert "listing the plugins imported dbt_listed.outlet" in broken[
        "test_listing_finds_the_components_without_importing_them"]


def test_plugin_tester_fails_a_component_that_is_not_what_its_kind_needs(site, databay_load_plugins):
    site("dbt-listed", LAZY, outlet="class SlowOutlet:\n    pass\n")
    broken = rules_broken(databay_load_plugins)
    assert "dbt-listed:slow: dbt_listed.outlet:SlowOutlet is a class, not a subclass of databay.Outlet" in broken[
        "test_databay_plugins_check_passes"]
    assert "test_listing_finds_the_components_without_importing_them" not in broken


def test_plugin_tester_fails_a_plugin_registering_something_else(site, databay_load_plugins):
    site("dbt-listed", LAZY.replace("'slow'", "'fast'"), outlet=SLOW_OUTLET)
    broken = rules_broken(databay_load_plugins)
    assert "test_listing_finds_the_components_without_importing_them" in broken
    assert "test_each_component_resolves_by_name_class_name_and_qualified_name" in broken
