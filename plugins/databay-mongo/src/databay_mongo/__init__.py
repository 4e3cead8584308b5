"""databay-mongo: a MongoDB outlet and inlet for databay.

Importing this package is cheap: the components (and pymongo) load on first access::

    from databay_mongo import MongoOutlet, MongoInlet
    from databay.outlets import MongoOutlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "MongoOutlet": "databay_mongo.outlet",
    "ensure_connection": "databay_mongo.outlet",
    "MongoInlet": "databay_mongo.inlet",
    "MongoCollectionNotFound": "databay_mongo.errors",
    "MongoConnectionError": "databay_mongo.errors",
    "MongoOperationError": "databay_mongo.errors",
}

__all__ = [
    "MongoCollectionNotFound",
    "MongoConnectionError",
    "MongoInlet",
    "MongoOperationError",
    "MongoOutlet",
    "ensure_connection",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_mongo' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
