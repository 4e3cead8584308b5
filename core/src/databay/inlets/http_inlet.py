"""databay 0.3's module of :class:`HttpInlet`, which the plugin distribution databay-http provides now."""

from databay.plugins.namespaces import legacy_module_getattr

__getattr__ = legacy_module_getattr("inlet", "HttpInlet", __name__)
