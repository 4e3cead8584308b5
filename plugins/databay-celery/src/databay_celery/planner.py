"""The :class:`CeleryPlanner`: a pipeline's links transferred by Celery workers.

In a pipeline file::

    [planner]
    use = "celery"
    broker = "${REDIS_URL}"        # a secret: from the environment

``databay run PIPELINE`` then runs a **scheduler** (this planner's :meth:`start`): it sends
each due slot of each link as a Celery task, and transfers nothing itself.
``databay worker PIPELINE`` runs a **worker** (:mod:`databay_celery.worker`), which builds
the same pipeline and carries out the tasks. See ``docs/scale-out.md``.

Links are due on interval grids, calendars (``schedule = "every day at 06:30"``) and, with
databay-aps installed, cron lines (``cron = "0 0 * * 1-5"``): the scheduler computes their
slots with the local planners' schedule objects (:mod:`databay.schedules`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Union

from databay import BasePlanner, Link
from databay.observers import current, notify_planner
from databay.schedules import Schedule, schedule_of

from databay_celery.cluster import ClusterSettings

__all__ = ["CeleryPlanner"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")


class CeleryPlanner(BasePlanner):
    """Schedules a pipeline's links as Celery tasks (Redis as broker) for ``databay worker`` processes.

    Several schedulers may run for availability: one leads at a time, a standby takes
    over within ``leader_seconds + poll_seconds`` of its death, and no slot is sent twice.
    A link's transfers never overlap, even on different workers; slots falling due while
    its previous task is queued or running are skipped; a transfer interrupted by a dead
    worker runs again.

    Links must come from a pipeline file (workers build them from the same file, and know
    them by their ``identity``); a staged link needs the ``redis`` stage, which every
    worker reaches (an SQLite stage is a file of one machine).

    :param broker: the Redis URL, ``redis://[:password@]host:port/db``.
    :param name: the pipeline's name in Redis and in Celery (queue ``databay.NAME``):
        pipelines sharing a Redis need names of their own.
    :param lease_seconds: see :class:`~databay_celery.cluster.ClusterSettings`, as the
        following: ``leader_seconds``, ``visibility_timeout``, ``inflight_seconds``,
        ``poll_seconds``.
    :param ignore_exceptions: accepted for the planner interface; a worker never stops
        for a failed transfer (it is a failed task, and the link's next slot runs).
    :param immediate_transfer: transfer each link once as soon as the scheduler starts,
        the first time it ever schedules the link.

    While it runs, the planner hooks (``databay_planner_started`` and ``_stopped``) are
    called on an event loop of its own, so that services (databay-web's dashboard) run
    beside the scheduler; :meth:`next_due_at` and :meth:`skipped_transfers` say what it
    knows of each link, :attr:`status` what it does.
    """

    transfers_here: ClassVar[bool] = False
    """This process transfers none of the links: the workers do (databay-web reads it)."""

    @staticmethod
    def cron_schedule(expression: str, timezone: Any = None, start_date: Any = None, end_date: Any = None,
                      jitter: float | None = None) -> Schedule:
        """What a pipeline's ``cron`` (with ``timezone``, ``start_date``, ``end_date``) makes:
        databay-aps's ``Cron``, whose due times the scheduler sends as slots.

        :raises ValueError: databay-aps is not installed, ``jitter`` is given (each slot is
            sent at its due time), or the line is not right (databay-aps's message).
        """
        if jitter:
            raise ValueError("'jitter' is not supported with the celery planner: it sends each slot at its due "
                             "time, and every worker starts it at once (leave jitter out)")
        try:
            from databay_aps import Cron
        except ImportError:
            raise ValueError("cron schedules need databay-aps (pip install databay-aps) wherever this pipeline is "
                             "loaded, schedulers and workers: its Cron computes the due times; or use a calendar: "
                             "schedule = \"every weekday at 00:00\"") from None
        return Cron(expression, timezone=timezone, start_date=start_date, end_date=end_date)

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        broker: str = "",
        name: str = "databay",
        lease_seconds: float = 30.0,
        leader_seconds: float = 5.0,
        visibility_timeout: float = 90.0,
        inflight_seconds: float = 600.0,
        poll_seconds: float = 1.0,
        ignore_exceptions: bool = False,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
    ):
        if not broker:
            raise ValueError('broker is required: the Redis URL of the Celery broker, e.g. broker = "${REDIS_URL}"')
        self.settings = ClusterSettings(broker, name, lease_seconds, leader_seconds, visibility_timeout,
                                        inflight_seconds, poll_seconds)
        from databay_celery.redis_url import client

        client(broker).close()  # checks the URL and registers its password as a secret
        self._by_identity: dict[str, Link] = {}
        self._version = 0
        self._stop = threading.Event()
        self._running = False
        self._done = threading.Event()
        self._done.set()
        self._thread: threading.Thread | None = None
        self.scheduler: Any = None
        """The :class:`~databay_celery.scheduler.Scheduler` while running (its ``lateness``,
        ``sent`` and ``leading`` describe it)."""
        self.clock: Callable[[], float] = time.time
        """Where the scheduler reads the time, in Unix seconds (tests give a
        :class:`databay.testing.FakeClock`; slots are Unix times the cluster shares)."""
        super().__init__(links, ignore_exceptions, immediate_transfer, shutdown_at_exit)

    def __repr__(self) -> str:
        return f"CeleryPlanner(name={self.settings.name!r}, broker={self.settings.shown_broker!r}, " \
               f"links={len(self.links)})"

    # -- extension points ------------------------------------------------------------

    def schedule(self, link: Link) -> None:
        """Add ``link`` to the links the scheduler sends.

        :raises ValueError: it has no identity (not from a pipeline file), another link has
            the same, its interval is not positive, or its stage is not a Redis stage.

        A link's ``interval`` may be a :class:`~databay.calendar.Calendar` or any other
        :class:`~databay.schedules.Schedule` (databay-aps's ``Cron``).
        """
        from databay_celery.stage import RedisStage

        identity = getattr(link, "identity", None)
        if not identity:
            raise ValueError(f"{link!r} has no identity: the Celery planner runs the links of a pipeline file "
                             f"(every worker builds them from the same file), or set link.identity yourself")
        if identity in self._by_identity and self._by_identity[identity] is not link:
            raise ValueError(f"two links have the identity {identity!r}")
        schedule_of(link)  # refuses an interval that is not positive
        stage = link.stage
        if stage is not None and not isinstance(stage, RedisStage):
            raise ValueError(f"link {identity} has the stage {stage.location}, which only one machine reaches: "
                             f'the Celery planner needs stage = {{ use = "redis", url = "...", key = "..." }}, '
                             f"which every worker reaches")
        self._by_identity[identity] = link
        self._version += 1

    def unschedule(self, link: Link) -> None:
        identity = getattr(link, "identity", None)
        if self._by_identity.get(identity or "") is link:
            del self._by_identity[identity]  # type: ignore[arg-type]
            self._version += 1

    def start_planner(self) -> None:
        from databay_celery.scheduler import Scheduler

        self.scheduler = Scheduler(self.settings, lambda: dict(self._by_identity), lambda: self._version,
                                   lambda link: self.immediate_transfer and link.immediate_transfer,
                                   self._report_skip, clock=self.clock)
        with _PlannerLoop(self):
            self.scheduler.run(self._stop)

    def shutdown_planner(self, wait: bool = True) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._running

    def link(self, identity: str) -> Link | None:
        """The link with this identity, if scheduled."""
        return self._by_identity.get(identity)

    # -- what the scheduler knows ------------------------------------------------------

    def next_due_at(self, link: Link) -> datetime.datetime | None:
        """When ``link``'s next slot is due, as an aware UTC datetime, while this scheduler
        leads (``None`` otherwise: a standby does not know what the leader sent, and a
        schedule that ended has no more slots)."""
        scheduler = self.scheduler
        identity = getattr(link, "identity", None)
        due = scheduler.next_slot(identity) if scheduler is not None and identity else None
        return None if due is None else datetime.datetime.fromtimestamp(due, datetime.UTC)

    def skipped_transfers(self, link: Link) -> int:
        """How many of ``link``'s slots this scheduler skipped because its previous task was
        still queued or running (workers count theirs in Redis: see ``docs/scale-out.md``)."""
        scheduler = self.scheduler
        identity = getattr(link, "identity", None)
        return scheduler.skipped(identity) if scheduler is not None and identity else 0

    @property
    def status(self) -> str:
        """What this scheduler does, in a line: leading, standing by, or stopped."""
        scheduler = self.scheduler
        where = f"pipeline '{self.settings.name}' on {self.settings.shown_broker}"
        if not self._running or scheduler is None:
            return f"stopped ({where})"
        if scheduler.leading:
            return (f"leads the {where}: sends the slots of {len(self._by_identity)} link(s) to the workers of "
                    f"queue {self.settings.queue} ({scheduler.sent} sent so far)")
        return f"stands by for the {where}: another scheduler leads"

    # -- starting and stopping -------------------------------------------------------

    def start(self) -> None:
        """Run the scheduler until :meth:`shutdown`: lead, or stand by. Blocks.

        Nodes are not started: the scheduler never pulls or pushes (the workers do).
        """
        self._stop.clear()
        self._done.clear()
        self._thread = threading.current_thread()
        self._running = True
        _LOGGER.info("Starting %s", self)
        try:
            self._start_planner()
        finally:
            self._running = False
            self._done.set()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling (giving up the lead at once); safe from any thread and from a
        signal handler. With ``wait`` (from another thread), return once it stopped."""
        _LOGGER.info("Shutting down %s", self)
        self._shutdown_planner(wait)
        if wait and self._running and threading.current_thread() is not self._thread:
            self._done.wait(30)

    def _report_skip(self, link: Link, skipped: int) -> None:
        notify = current()
        if notify is not None:
            notify.transfer_skipped(link=link, skipped=skipped)


class _PlannerLoop:
    """While inside: an event loop in a thread of its own on which the planner hooks of
    ``planner`` are called (``databay_planner_started`` on entering, ``_stopped`` on leaving),
    so that services (a dashboard) run beside a scheduler, which has no loop of its own."""

    def __init__(self, planner: CeleryPlanner, timeout: float = 60.0):
        self.planner, self.timeout = planner, timeout
        self._up = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._leave: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="databay-celery-services",
                                        daemon=True)

    async def _main(self) -> None:
        self._loop, self._leave = asyncio.get_running_loop(), asyncio.Event()
        try:
            await notify_planner("databay_planner_started", self.planner)  # logs what fails, raises nothing
        finally:
            self._up.set()
        await self._leave.wait()
        await notify_planner("databay_planner_stopped", self.planner)

    def __enter__(self) -> _PlannerLoop:
        self._thread.start()
        self._up.wait(self.timeout)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._leave is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._leave.set)
        self._thread.join(self.timeout)
