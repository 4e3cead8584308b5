"""Exceptions raised by databay's model and plugin system."""

from __future__ import annotations


class MissingLinkError(RuntimeError):
    """Raised when providing a link that isn't stored in planner."""


class ImplementationError(RuntimeError):
    """Raised when concrete implementation is incorrect."""


class InvalidNodeError(RuntimeError):
    """Raised when invalid node (inlet or outlet) is provided."""


class PluginError(RuntimeError):
    """Raised for a broken plugin, an unknown component or an ambiguous component name."""


class ComponentNotFoundError(PluginError, LookupError):
    """Raised when no installed plugin registers the requested component."""


class AmbiguousComponentError(PluginError, LookupError):
    """Raised when two plugin distributions register the same component name."""
