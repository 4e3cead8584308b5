"""Outlets: the built-ins and, by class name, every outlet a plugin registers.

``from databay.outlets import MongoOutlet`` works once ``databay-mongo`` is installed.
"""

from databay.plugins.namespaces import component_getattr

__getattr__ = component_getattr("outlet", __name__)
