"""The :class:`SchedulePlanner`: the default planner, on the ``schedule`` library's jobs."""

from __future__ import annotations

from typing import Any, Union

import schedule

from databay.calendar import Calendar
from databay.calendar_grammar import DAY_NAMES, ClockTicks
from databay.engine_planner import EnginePlanner
from databay.link import Link
from databay.schedules import IntervalGrid, schedule_of


class ScheduleIntervalError(Exception):
    """Raised by databay 0.3 when a link interval was below the refresh interval.

    Kept for compatibility: this planner runs transfers at their due times whatever the
    refresh interval, so it no longer raises it.
    """


class SchedulePlanner(EnginePlanner):
    """Planner scheduling links on their intervals or calendars; a link's job is a ``schedule.Job``.

    Each planner has its own ``schedule.Scheduler`` holding one job per link, and one
    event loop (the engine) that runs every transfer at its due time: no polling, no
    drift, and a link's transfers never overlap. Asynchronous pulls and pushes run on the
    loop; synchronous ones in a pool of ``threads`` threads. :meth:`start` blocks until
    :meth:`shutdown`.

    A link on a :class:`~databay.calendar.Calendar` is due at its calendar's times, read
    from the wall clock (see :mod:`databay.schedules`); its job is ``schedule``'s nearest
    equivalent (``every().monday.at("09:00")``), kept for the record: the engine times it.

    :param links: Links that should be added and scheduled.
    :param threads: Number of threads for synchronous pulls and pushes. Default ``30``.
    :param refresh_interval: Accepted for compatibility; transfers no longer wait for it.
    :param ignore_exceptions: Whether exceptions should be ignored, or halt the planner.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: Whether to transfer every link once upon starting.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        refresh_interval: float = 1.0,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
    ):
        self._refresh_interval = refresh_interval
        self._scheduler = schedule.Scheduler()
        super().__init__(links, threads, ignore_exceptions, catch_exceptions, immediate_transfer,
                         shutdown_at_exit)

    @property
    def refresh_interval(self) -> float:
        """The refresh interval given on construction (no longer limits link intervals)."""
        return self._refresh_interval

    def schedule(self, link: Link) -> None:
        """Schedule ``link`` and give it a ``schedule.Job`` (its :attr:`~databay.link.Link.job`).

        :raises ValueError: the link's interval is not positive, or it is neither an
            interval nor a :class:`~databay.calendar.Calendar` (a cron schedule of
            databay-aps runs on ``ApsPlanner``).
        """
        super().schedule(link)
        link.set_job(self._job(schedule_of(link)).do(link.transfer))

    def _job(self, due: object) -> Any:
        """A job of this planner's scheduler saying what ``due`` says, as near as
        ``schedule``'s words get (it has no weekdays, nor several days or times)."""
        every = self._scheduler.every
        if isinstance(due, IntervalGrid):
            # schedule's hints say int, but a job takes any number of seconds (a timedelta's).
            return every(due.seconds).seconds  # type: ignore[arg-type]
        assert isinstance(due, Calendar)  # the engine refused anything else
        rule = due.rule
        if isinstance(rule, ClockTicks):
            minutes, seconds = divmod(rule.phase, 60)
            if rule.period % 3600 == 0:
                hours = every(rule.period // 3600).hours
                return hours.at(f"{minutes:02d}:{seconds:02d}") if rule.phase else hours
            if rule.period % 60 == 0:
                each = every(rule.period // 60).minutes
                return each.at(f":{seconds:02d}") if seconds else each
            return every(rule.period).seconds
        day = DAY_NAMES[min(rule.days)] if len(rule.days) == 1 else "day"
        return getattr(every(), day).at(rule.times[0].strftime("%H:%M:%S"))

    def unschedule(self, link: Link) -> None:
        """Stop scheduling ``link`` and cancel its job."""
        super().unschedule(link)
        if link.job is not None:
            self._scheduler.cancel_job(link.job)
            link.set_job(None)

    def __repr__(self) -> str:
        return f"SchedulePlanner(threads:{self._threads}, refresh_interval:{self._refresh_interval})"
