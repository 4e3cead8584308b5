"""The installed distribution: registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_http
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-http"
    components = {"inlet": {"http": "databay_http.inlet:HttpInlet"},
                  "outlet": {"http": "databay_http.outlet:HttpOutlet"}}
    watch = ["aiohttp", "yarl", "multidict", "databay_http.inlet", "databay_http.outlet", "databay_http.client"]


def test_the_package_exports_the_components_and_errors() -> None:
    from databay_http.inlet import HttpInlet

    assert databay_http.HttpInlet is HttpInlet
    assert set(databay_http.__all__) >= {"HttpInlet", "HttpOutlet", "HttpError", "HttpStatusError"}
