"""databay-celery: one pipeline on many machines, with Celery (Redis as broker) and a Redis stage.

Importing this package is cheap: Celery and redis-py load on first access::

    from databay_celery import CeleryPlanner, RedisStage
    from databay.planners import CeleryPlanner   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "CeleryPlanner": "databay_celery.planner",
    "RedisStage": "databay_celery.stage",
    "StageFencedError": "databay_celery.stage",
    "RedisServer": "databay_celery.redis_server",
}

__all__ = ["CeleryPlanner", "RedisServer", "RedisStage", "StageFencedError"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_celery' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
