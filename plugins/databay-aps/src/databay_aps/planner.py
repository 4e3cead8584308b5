"""The :class:`ApsPlanner`: links scheduled by APScheduler 3, transferred on databay's engine.

Each link is one APScheduler job, kept in an ``AsyncIOScheduler`` that runs on the
planner's event loop: with an interval trigger for a link on an interval, or a trigger
following the link's schedule for a link on a :class:`~databay.calendar.Calendar` or a
:class:`~databay_aps.cron.Cron` (:class:`~databay_aps.cron.ScheduleTrigger`). A job does not transfer by itself: it asks the
planner's engine (``EnginePlanner.transfer_due``), so transfers share the planner's bounded
thread pool, never overlap for one link, are tracked for graceful shutdown, and report
failures to the planner like :class:`~databay.planners.SchedulePlanner`'s do.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import threading
import warnings
from collections.abc import Mapping
from typing import Any, Union

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import maybe_ref
from databay import Link
from databay.engine_planner import EnginePlanner

from databay_aps.cron import Cron, ScheduleTrigger

_LOGGER = logging.getLogger("databay.ApsPlanner")
_UTC = datetime.UTC

JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
"""APScheduler job defaults giving the engine's rules: a due time that finds the link's
previous transfer running is skipped (``max_instances=1``), missed due times are coalesced
into one transfer (``coalesce=True``), and a late transfer runs however late it is
(``misfire_grace_time=None``)."""

WAKE_UP_EVERY = 30.0
"""How often (seconds) the planner has APScheduler look at the wall clock even when no job
is due: after the machine slept, or its clock jumped, due times are kept within this."""


class _LoopScheduler(AsyncIOScheduler):
    """An ``AsyncIOScheduler`` started and shut down by the planner on its loop's thread.

    The stock ``shutdown`` takes effect on the next loop iteration; the planner shuts
    down from the loop itself, right before the loop ends, so it must take effect at once.
    """

    def shutdown(self, wait: bool = True) -> None:
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:  # a wake-up queued before the shutdown
            return None
        return super()._process_jobs()


class ApsPlanner(EnginePlanner):
    """Planner implementing scheduling using the Advanced Python Scheduler (APScheduler 3).

    Scheduling sets the APS ``Job`` as links' job. Like every databay planner it runs its
    links on one event loop in the thread that calls :meth:`start` (which blocks until
    :meth:`shutdown`): asynchronous pulls and pushes on the loop, synchronous ones in a
    pool of ``threads`` threads.

    :param links: Links that should be added and scheduled.
    :param threads: Number of threads for synchronous pulls and pushes. Default ``30``.
    :param executors_override: Overrides for the ``executors`` option of the APScheduler
        configuration. The ``'default'`` executor runs the links' jobs on the planner's
        loop: an ``AsyncIOExecutor`` (the default). A thread pool executor there (as
        databay 0.3 code used to size its pool) sets ``threads`` to its ``max_workers``.
    :param job_defaults_override: Overrides for the ``job_defaults`` option of the
        APScheduler configuration (``coalesce``, ``max_instances``,
        ``misfire_grace_time``), on top of :data:`JOB_DEFAULTS`.
    :param ignore_exceptions: Whether exceptions should be ignored, or halt the planner.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: Whether to transfer every link once upon starting.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.

    A link's ``interval`` may also be a :class:`~databay.calendar.Calendar` or a
    :class:`~databay_aps.cron.Cron` (``cron = "..."`` in a pipeline, made by
    :attr:`cron_schedule`): its job then fires at the schedule's times.
    """

    cron_schedule = Cron
    """What a pipeline's ``cron`` (with ``timezone``, ``start_date``, ``end_date``,
    ``jitter``) makes: this planner runs cron schedules."""

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        executors_override: dict[str, Any] | None = None,
        job_defaults_override: dict[str, Any] | None = None,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
    ):
        executors: dict[str, Any] = {"default": AsyncIOExecutor()}
        # APScheduler pops keys from executor dicts: hand it copies.
        executors.update({alias: dict(value) if isinstance(value, Mapping) else value
                          for alias, value in (executors_override or {}).items()})
        pool_size = _thread_pool_size(executors["default"])
        if pool_size is not None:
            # databay 0.3 code sized its pool this way: the size is kept, the jobs stay on the loop.
            threads = pool_size
            executors["default"] = AsyncIOExecutor()
        _check_default_executor(executors["default"])
        job_defaults = {**JOB_DEFAULTS, **_checked_job_defaults(job_defaults_override or {})}
        self._scheduler = _LoopScheduler(executors=executors, job_defaults=job_defaults, timezone=_UTC)
        # Guards the jobs and the scheduler's state against add/remove from other threads.
        self._jobs_lock = threading.Lock()
        self._jobs: dict[Link, Job] = {}
        self._paused = False
        self._wake_up: asyncio.TimerHandle | None = None
        super().__init__(links, threads, ignore_exceptions, catch_exceptions, immediate_transfer,
                         shutdown_at_exit, timers=False)

    # -- the APScheduler jobs ----------------------------------------------------

    def schedule(self, link: Link) -> None:
        """Schedule ``link`` with the engine and give it an APScheduler job (its ``job``).

        :raises ValueError: its interval is not positive, or neither an interval nor a
            schedule with ``next_after`` (a Calendar, a Cron).
        """
        if not isinstance(link.interval, datetime.timedelta) and not callable(getattr(link.interval, "next_after",
                                                                                      None)):
            raise ValueError(f"cannot schedule {link!r}: ApsPlanner runs links on an interval, a databay.Calendar "
                             f"or a databay_aps.Cron, not {link.interval!r}")
        super().schedule(link)  # the engine first: a job due at once finds the link scheduled
        with self._jobs_lock:
            if link in self._jobs:
                return
            first = None
            if self._scheduler.running:  # added while running: first due one interval (or at its next time) from now
                first = self._first_due(link, datetime.datetime.now(_UTC), immediate=False)
            self._jobs[link] = job = self._add_job(link, first)
        link.set_job(job)

    def unschedule(self, link: Link) -> None:
        """Remove ``link``'s job and unschedule it."""
        with self._jobs_lock:
            job = self._jobs.pop(link, None)
            if job is not None:
                try:
                    job.remove()
                except JobLookupError:  # already gone with its scheduler
                    pass
        link.set_job(None)
        super().unschedule(link)

    def _add_job(self, link: Link, first: datetime.datetime | None) -> Job:
        """Add ``link``'s job, due at ``first`` and then at its interval or schedule's times
        (``None``: tentatively, while stopped; it is added again with its real times on start)."""
        options: dict[str, Any] = {} if first is None else {"next_run_time": first}
        return self._scheduler.add_job(self._transfer_job, _trigger(link, first), args=(link,),
                                       name=f"Link(tags:{link.tags})", **options)

    @staticmethod
    def _first_due(link: Link, now: datetime.datetime, immediate: bool) -> datetime.datetime | None:
        """When ``link`` is first due if scheduled at ``now`` (``None``: never, its schedule
        ended). A cron schedule transfers immediately only between its start and end dates."""
        interval = link.interval
        in_effect = getattr(interval, "in_effect", None)
        if immediate and (in_effect is None or in_effect(now)):
            return now
        if isinstance(interval, datetime.timedelta):
            return now + interval
        return _trigger(link, None).get_next_fire_time(None, now)

    def next_due_at(self, link: Link) -> datetime.datetime | None:
        """When ``link``'s job is next due (an aware UTC datetime, jitter included), while
        the planner runs; ``None`` otherwise."""
        with self._jobs_lock:
            job = self._jobs.get(link)
            if job is None or not self._scheduler.running:
                return None
            due = getattr(job, "next_run_time", None)
        if due is None:
            return None
        trigger = job.trigger
        shift = trigger.shift() if isinstance(trigger, ScheduleTrigger) else datetime.timedelta(0)
        return due.astimezone(_UTC) + shift

    async def _transfer_job(self, link: Link) -> None:
        """The job of every link: a due transfer, run by the engine on this loop."""
        if self._paused:  # submitted just before pause(): once it returned, nothing starts
            return
        try:
            await self.transfer_due(link)
        except asyncio.CancelledError:
            # shutdown(wait=False) cancelled the transfer: that is no failure of the job.
            _LOGGER.debug("%s: transfer cancelled by shutdown", link)
        except (KeyboardInterrupt, SystemExit) as exc:
            # APScheduler would log and swallow it. Raised from a loop callback instead,
            # it reaches the engine, which shuts down gracefully on Ctrl-C.
            asyncio.get_running_loop().call_soon(_raise, exc)

    def on_loop_started(self) -> None:
        """Add every link's job with its real first due time and start APScheduler on the loop."""
        with self._jobs_lock:
            # One anchor for all: links with the same interval fall due together, as
            # with SchedulePlanner. The tentative jobs had no anchor yet.
            now = datetime.datetime.now(_UTC)
            self._scheduler.remove_all_jobs()
            for link in list(self._jobs):
                immediate = self.immediate_transfer and link.immediate_transfer
                self._jobs[link] = job = self._add_job(link, self._first_due(link, now, immediate))
                link.set_job(job)
            self._scheduler.start(paused=self._paused)
        self._wake_up = asyncio.get_running_loop().call_later(WAKE_UP_EVERY, self._look_at_the_clock)

    def _look_at_the_clock(self) -> None:
        """Have APScheduler read the wall clock (its own timer runs on the loop's monotonic
        clock, which stands still while the machine sleeps), then again later."""
        with self._jobs_lock:
            if not self._scheduler.running:
                return
            self._scheduler.wakeup()
        self._wake_up = asyncio.get_running_loop().call_later(WAKE_UP_EVERY, self._look_at_the_clock)

    def on_loop_stopped(self) -> None:
        """Shut APScheduler down; the jobs become tentative again until the next start."""
        if self._wake_up is not None:
            self._wake_up.cancel()
            self._wake_up = None
        with self._jobs_lock:
            if not self._scheduler.running:
                return
            self._scheduler.remove_all_jobs()
            self._scheduler.shutdown(wait=False)  # the engine already waited for the transfers
            for link in list(self._jobs):  # tentative again, until the next start
                self._jobs[link] = job = self._add_job(link, None)
                link.set_job(job)

    # -- pause and resume --------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Whether the planner is paused (see :meth:`pause`)."""
        return self._paused

    def pause(self) -> None:
        """Pause this planner: once it returned, no transfer starts until :meth:`resume`.
        Calls APScheduler's ``pause()``.

        Transfers in flight finish. Safe from any thread. Pausing a planner that is not
        running makes it start paused.
        """
        with self._jobs_lock:
            self._paused = True
            if self._scheduler.running:
                self._scheduler.pause()
        _LOGGER.info("Paused %s", self)

    def resume(self) -> None:
        """Resume this planner. Calls APScheduler's ``resume()``.

        A link that fell due while paused transfers once at once (its missed due times
        coalesced), then returns to its ideal times.
        """
        with self._jobs_lock:
            self._paused = False
            if self._scheduler.running:
                self._scheduler.resume()
        _LOGGER.info("Resumed %s", self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threads:{self._threads})"


class APSPlanner(ApsPlanner):
    """Deprecated alias (a subclass) of :class:`ApsPlanner`, as in databay 0.3: creating
    one warns with a ``DeprecationWarning``."""

    @functools.wraps(ApsPlanner.__init__)  # the same signature, for inspection and validation
    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn("APSPlanner is a deprecated alias of ApsPlanner: use ApsPlanner.",
                      DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


def _trigger(link: Link, first: datetime.datetime | None) -> BaseTrigger:
    """The APScheduler trigger of ``link``'s job: every interval from ``first``, or the
    times of its schedule."""
    interval = link.interval
    if isinstance(interval, datetime.timedelta):
        return IntervalTrigger(seconds=interval.total_seconds(), start_date=first, timezone=_UTC)
    return ScheduleTrigger(interval)


def _raise(exc: BaseException) -> None:
    raise exc


def _thread_pool_size(executor: Any) -> int | None:
    """``max_workers`` of an APScheduler thread pool executor (instance or dict form), else ``None``."""
    if isinstance(executor, ThreadPoolExecutor):
        return executor._pool._max_workers
    if isinstance(executor, Mapping):
        cls = maybe_ref(executor["class"]) if "class" in executor else None
        if executor.get("type") == "threadpool" or (isinstance(cls, type) and issubclass(cls, ThreadPoolExecutor)):
            return int(executor.get("max_workers", 10))  # APScheduler's own default
    return None


def _check_default_executor(executor: Any) -> None:
    """Raise ``ValueError`` unless ``executor`` (an instance or APScheduler's dict form)
    runs coroutine jobs on the event loop."""
    if isinstance(executor, BaseExecutor):
        on_loop = isinstance(executor, AsyncIOExecutor)
    elif isinstance(executor, Mapping) and "type" in executor:
        on_loop = executor["type"] == "asyncio"
    elif isinstance(executor, Mapping) and "class" in executor:
        cls = maybe_ref(executor["class"])
        on_loop = isinstance(cls, type) and issubclass(cls, AsyncIOExecutor)
    else:
        on_loop = False
    if not on_loop:
        raise ValueError(
            f"executors_override['default'] must be an apscheduler AsyncIOExecutor, found: {executor!r}. "
            "ApsPlanner runs every transfer on its event loop (synchronous pulls and pushes in its "
            "pool of `threads` threads); put other executors under other names."
        )


def _checked_job_defaults(overrides: Mapping[str, Any]) -> Mapping[str, Any]:
    """``overrides``, once checked here rather than by APScheduler when the planner starts."""
    unknown = sorted(set(overrides) - set(JOB_DEFAULTS))
    if unknown:
        raise ValueError(
            f"job_defaults_override: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"APScheduler's job defaults are {', '.join(map(repr, JOB_DEFAULTS))}"
        )
    for key, value in overrides.items():
        positive = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        if key == "coalesce" and not isinstance(value, bool):
            raise ValueError(f"job_defaults_override: coalesce must be True or False, found: {value!r}")
        if key == "max_instances" and not positive:
            raise ValueError(f"job_defaults_override: max_instances must be a positive int, found: {value!r}")
        if key == "misfire_grace_time" and not (value is None or positive):
            raise ValueError("job_defaults_override: misfire_grace_time must be None or a positive int "
                             f"(seconds), found: {value!r}")
    return overrides
