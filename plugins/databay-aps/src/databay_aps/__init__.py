"""databay-aps: the Advanced Python Scheduler planner for databay.

Importing this package is cheap: the planner (and APScheduler) load on first access::

    from databay_aps import ApsPlanner
    from databay.planners import ApsPlanner   # the same class, found through the plugin
    from databay_aps import Cron               # cron schedules: Link(..., Cron("0 0 * * 1-5"))
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_aps.planner": ["ApsPlanner", "APSPlanner", "JOB_DEFAULTS"],
    "databay_aps.cron": ["Cron", "CronError"],
})
