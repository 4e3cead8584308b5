"""Inlets: the built-ins and, by class name, every inlet a plugin registers.

``from databay.inlets import HttpInlet`` works once ``databay-http`` is installed.
"""

from databay.plugins.namespaces import component_getattr

__getattr__ = component_getattr("inlet", __name__)
