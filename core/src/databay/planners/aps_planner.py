"""databay 0.3's module of :class:`ApsPlanner`, which the plugin distribution databay-aps provides now."""

from databay.plugins.namespaces import legacy_module_getattr

__getattr__ = legacy_module_getattr("planner", "ApsPlanner", __name__)
