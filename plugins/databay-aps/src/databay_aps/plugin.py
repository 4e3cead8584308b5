"""The databay plugin module of databay-aps: registers the ``aps`` planner.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports APScheduler.
``apsplanner`` registers databay 0.3's alias class ``APSPlanner``, so that
``from databay.planners import APSPlanner`` keeps working.
"""

from databay import hookimpl


@hookimpl
def databay_register_planners(register):
    register("aps", "databay_aps.planner:ApsPlanner")
    register("apsplanner", "databay_aps.planner:APSPlanner")
