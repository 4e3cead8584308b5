"""The databay plugin module of databay-celery: the ``celery`` planner, the ``redis``
stage and the ``worker`` command.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports Celery or redis-py.
"""

from databay import hookimpl


@hookimpl
def databay_register_planners(register):
    register("celery", "databay_celery.planner:CeleryPlanner")


@hookimpl
def databay_register_stages(register):
    register("redis", "databay_celery.stage:RedisStage")


@hookimpl
def databay_register_commands(app):
    from databay_celery.cli import add_commands  # small: imports Celery only when a command runs

    add_commands(app)
