"""databay-celery: one pipeline on many machines, with Celery (Redis as broker) and a Redis stage.

Importing this package is cheap: Celery and redis-py load on first access::

    from databay_celery import CeleryPlanner, RedisStage
    from databay.planners import CeleryPlanner   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_celery.planner": ["CeleryPlanner"],
    "databay_celery.stage": ["RedisStage", "StageFencedError"],
    "databay_celery.redis_server": ["RedisServer"],
})
