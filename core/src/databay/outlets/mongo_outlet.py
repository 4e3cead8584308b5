"""databay 0.3's module of :class:`MongoOutlet`, which the plugin distribution databay-mongo provides now."""

from databay.plugins.namespaces import legacy_module_getattr

__getattr__ = legacy_module_getattr("outlet", "MongoOutlet", __name__)
