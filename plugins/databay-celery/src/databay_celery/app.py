"""The Celery application of a cluster: Redis as broker, tasks acknowledged late.

Why each setting:

- ``task_acks_late`` and ``task_reject_on_worker_lost``: a task is acknowledged when the
  transfer ended, not when a worker took it; a worker that dies (SIGKILL, out of memory)
  leaves it unacknowledged, and Redis gives it to another worker after the
  ``visibility_timeout``, which :class:`~databay_celery.cluster.ClusterSettings` keeps
  longer than a link's lease (so the dead worker's lease has expired by then);
- ``unacked_restore_interval``/``throttle``: look for such tasks every few seconds rather
  than every 100 s (kombu's default), so that a transfer interrupted by a dead worker runs
  again soon after its visibility timeout;
- ``worker_prefetch_multiplier = 1``: a worker takes one task per free thread, so idle
  workers get the next tasks rather than one worker hoarding them;
- ``worker_send_task_events``: Flower and ``celery events`` see every task from the
  moment a worker receives it, with its result (no result backend: ``task_ignore_result``).
  No ``task-sent`` events: with thousands of links falling due at once they would cost
  the scheduler a third of its time per task (0.2 of 0.5 ms, measured);
- JSON only: a task is ``transfer(link identity, due time)``, plain data.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from databay_celery.cluster import ClusterSettings

__all__ = ["TASK_NAME", "make_app"]

TASK_NAME = "databay.transfer"


def make_app(settings: ClusterSettings) -> Celery:
    """A Celery application for the cluster ``settings`` describe (tasks are registered by workers)."""
    app = Celery(f"databay.{settings.name}", broker=settings.broker, set_as_current=False)
    restore_every = max(1, min(10, int(settings.visibility_timeout / 10)))
    transport: dict[str, Any] = {
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": restore_every,
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        task_default_queue=settings.queue,
        task_routes={TASK_NAME: {"queue": settings.queue}},
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_send_task_events=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        enable_utc=True,
    )
    return app
