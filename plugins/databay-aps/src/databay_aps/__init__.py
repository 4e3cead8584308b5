"""databay-aps: the Advanced Python Scheduler planner for databay.

Importing this package is cheap: the planner (and APScheduler) load on first access::

    from databay_aps import ApsPlanner
    from databay.planners import ApsPlanner   # the same class, found through the plugin
    from databay_aps import Cron               # cron schedules: Link(..., Cron("0 0 * * 1-5"))
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "ApsPlanner": "databay_aps.planner",
    "APSPlanner": "databay_aps.planner",
    "JOB_DEFAULTS": "databay_aps.planner",
    "Cron": "databay_aps.cron",
    "CronError": "databay_aps.cron",
}

__all__ = ["APSPlanner", "JOB_DEFAULTS", "ApsPlanner", "Cron", "CronError"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_aps' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
