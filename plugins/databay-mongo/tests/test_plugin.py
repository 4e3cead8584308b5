"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_mongo
from databay.testing import plugin_listing


def test_listing_components_does_not_import_pymongo() -> None:
    listing = plugin_listing("databay-mongo", watch=["pymongo", "bson", "databay_mongo.outlet", "databay_mongo.inlet"])
    assert listing.components == {"inlet": {"mongo": "databay_mongo.inlet:MongoInlet"},
                                  "outlet": {"mongo": "databay_mongo.outlet:MongoOutlet"}}
    assert listing.imported == []


def test_found_by_name_and_by_class_name(databay_load_plugins) -> None:
    from databay_mongo.inlet import MongoInlet
    from databay_mongo.outlet import MongoOutlet

    manager = databay_load_plugins("databay-mongo")
    assert manager.resolve("outlet", "mongo") is MongoOutlet
    assert manager.resolve("inlet", "MongoInlet") is MongoInlet


def test_compatible_imports() -> None:
    from databay.inlets import MongoInlet
    from databay.outlets import MongoOutlet

    assert MongoOutlet.__module__ == "databay_mongo.outlet"
    assert MongoInlet.__module__ == "databay_mongo.inlet"
    assert databay_mongo.MongoOutlet is MongoOutlet
