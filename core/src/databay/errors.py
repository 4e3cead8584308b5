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


class ServiceError(RuntimeError):
    """Raised when a service (:class:`databay.service.Service`) cannot run beside its
    pipeline, e.g. its port is in use; the message says what and where."""


class StageError(RuntimeError):
    """Raised when a link's stage cannot be opened, read or written.

    The message names the stage file and what was being done. Records a transfer could
    not commit are kept by the link, which commits them before pulling anything new.
    """


class StageSerializationError(StageError, TypeError):
    """Raised at a transfer when a record holds a value its link's stage cannot store.

    The message names the record, its inlet and the offending value's place and type.
    """


class UndecodableBatchError(StageError):
    """Raised when a staged batch cannot be decoded (a corrupt row, a record type no longer
    registered).

    The stage has already moved the batch to its dead letters, with this error as the reason,
    when it raises this: delivery goes on with the next batch.
    """
