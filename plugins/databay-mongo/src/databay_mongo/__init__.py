"""databay-mongo: a MongoDB outlet and inlet for databay.

Importing this package is cheap: the components (and pymongo) load on first access::

    from databay_mongo import MongoOutlet, MongoInlet
    from databay.outlets import MongoOutlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_mongo.outlet": ["MongoOutlet", "ensure_connection"],
    "databay_mongo.inlet": ["MongoInlet"],
    "databay_mongo.errors": ["MongoCollectionNotFound", "MongoConnectionError", "MongoOperationError"],
})
