"""Planners: :class:`SchedulePlanner` and, by class name, every planner a plugin registers.

``from databay.planners import ApsPlanner`` works once ``databay-aps`` is installed.
"""

from databay.plugins.namespaces import component_getattr

__getattr__ = component_getattr("planner", __name__)
