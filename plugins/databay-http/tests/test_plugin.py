"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_http
from databay.testing import plugin_listing


def test_listing_components_does_not_import_aiohttp() -> None:
    listing = plugin_listing("databay-http", watch=["aiohttp", "yarl", "multidict", "databay_http.inlet",
                                                    "databay_http.outlet", "databay_http.client"])
    assert listing.components == {"inlet": {"http": "databay_http.inlet:HttpInlet"},
                                  "outlet": {"http": "databay_http.outlet:HttpOutlet"}}
    assert listing.imported == []


def test_found_by_name_and_by_class_name(databay_load_plugins) -> None:
    from databay_http.inlet import HttpInlet
    from databay_http.outlet import HttpOutlet

    manager = databay_load_plugins("databay-http")
    assert manager.resolve("inlet", "http") is HttpInlet
    assert manager.resolve("outlet", "HttpOutlet") is HttpOutlet


def test_compatible_imports() -> None:
    from databay.inlets import HttpInlet
    from databay.outlets import HttpOutlet

    assert HttpInlet.__module__ == "databay_http.inlet"
    assert HttpOutlet.__module__ == "databay_http.outlet"
    assert databay_http.HttpInlet is HttpInlet
    assert set(databay_http.__all__) >= {"HttpInlet", "HttpOutlet", "HttpError", "HttpStatusError"}
