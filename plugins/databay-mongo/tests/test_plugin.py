"""The installed distribution: registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_mongo
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-mongo"
    components = {"inlet": {"mongo": "databay_mongo.inlet:MongoInlet"},
                  "outlet": {"mongo": "databay_mongo.outlet:MongoOutlet"}}
    watch = ["pymongo", "bson", "databay_mongo.outlet", "databay_mongo.inlet"]


def test_the_package_exports_the_components_lazily() -> None:
    from databay_mongo.outlet import MongoOutlet

    assert databay_mongo.MongoOutlet is MongoOutlet
