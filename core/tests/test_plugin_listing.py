"""``databay.testing.plugin_listing``: what a fresh interpreter listing one plugin registers and imports."""

from __future__ import annotations

import os

import pytest
from databay.testing import PluginListing, plugin_listing


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site(dist, plugin_source, **modules)``: a distribution a fresh interpreter finds installed."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))

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

    return install


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
