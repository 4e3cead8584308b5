"""databay 0.3's module of :class:`CsvOutlet`, which the plugin distribution databay-csv provides now."""

from databay.plugins.namespaces import legacy_module_getattr

__getattr__ = legacy_module_getattr("outlet", "CsvOutlet", __name__)
