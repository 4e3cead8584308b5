"""PlannerTester cannot pass vacuously: each rule's test fails on a planner that breaks that rule.

Most broken planners are SchedulePlanner with one thing sabotaged; the timing rules are
broken by small thread-based planners written the naive way.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import unittest

import pytest
from databay import Calendar
from databay.base_planner import BasePlanner
from databay.engine_planner import EnginePlanner
from databay.planners import SchedulePlanner
from databay.schedules import schedule_of
from databay.testing import PlannerTester

_LOGGER = logging.getLogger("databay.BasePlanner")


class ReturnsFromStart(SchedulePlanner):
    def start(self):
        threading.Thread(target=super().start, daemon=True).start()


class RunningBeforeStart(SchedulePlanner):
    @property
    def running(self):
        return True


class ShutdownDoesNotWait(SchedulePlanner):
    def _shutdown_planner(self, wait=True):
        self._engine.stop(wait=False)


class LosesShutdownWhileStarting(SchedulePlanner):
    """Says it runs before its loop can take a stop, and starts late: the stop is lost."""

    def __init__(self, links=None, **options):
        self._entered = False
        super().__init__(links, **options)

    @property
    def running(self):
        return self._entered or super().running

    def start(self):
        self._entered = True
        time.sleep(0.2)
        self._entered = False
        super().start()


class RunningOnlyOnceNodesStarted(SchedulePlanner):
    """Says it runs only once every node of its links was started."""

    def __init__(self, links=None, **options):
        self._nodes_started = False
        super().__init__(links, **options)

    @property
    def running(self):
        return self._nodes_started and super().running

    async def _before_transfers(self):
        await super()._before_transfers()
        self._nodes_started = True


class ReadsProcessorsAtShutdown(SchedulePlanner):
    """Assumes every link and outlet has processors, as Link and Outlet set them."""

    def shutdown(self, wait=True):
        super().shutdown(wait)
        for link in self._links:
            [*link.processors, *(processor for outlet in link.outlets for processor in outlet.processors)]


class BypassesLinkMethods(SchedulePlanner):
    """Runs every link from its settings, whatever it overrides."""

    def schedule(self, link):
        link.set_job(None)
        self._engine.schedule(link, direct=True)

    async def _before_transfers(self):
        for link in self._links:
            for node in [*link.inlets, *link.outlets]:
                await node.try_start_async()
        self._on_loop_started()

    async def _after_transfers(self):
        for link in self._links:
            for node in [*link.inlets, *link.outlets]:
                await node.try_shutdown_async()


class NoImmediateTransfer(SchedulePlanner):
    def __init__(self, links=None, **options):
        super().__init__(links, **options)
        self.immediate_transfer = False


class AlwaysImmediate(SchedulePlanner):
    def _start_planner(self):
        self._engine.run(before=self._before_transfers, immediate=lambda link: True,
                         after=self._after_transfers)


class StartsSharedNodesTwice(SchedulePlanner):
    async def _before_transfers(self):
        for link in self._links:
            for node in [*link.inlets, *link.outlets]:
                result = node.on_start()
                if inspect.isawaitable(result):
                    await result


class NeverShutsNodesDown(SchedulePlanner):
    async def _after_transfers(self):
        pass

    def shutdown(self, wait=True):
        self._engine.stop(wait)


class StopsOnIgnoredExceptions(SchedulePlanner):
    def _on_exception(self, exception, link=None):
        _LOGGER.error(str(exception))
        self._engine.stop(wait=False)


class NeverStopsOnExceptions(SchedulePlanner):
    def _on_exception(self, exception, link=None):
        _LOGGER.error(str(exception))


class IgnoresLinksAddedWhileRunning(SchedulePlanner):
    def _schedule(self, link):
        if not self.running:
            super()._schedule(link)


class KeepsRemovedLinksScheduled(SchedulePlanner):
    def _unschedule(self, link):
        pass


class PurgeKeepsScheduling(SchedulePlanner):
    def purge(self):
        self._links = []


class ThreadPerTransferPlanner(BasePlanner):
    """Starts each due transfer in a new thread, whether the link's previous one finished or not."""

    def __init__(self, links=None, ignore_exceptions=False, immediate_transfer=True):
        self._stop = threading.Event()
        self._running = False
        super().__init__(links, ignore_exceptions, immediate_transfer)

    @property
    def running(self):
        return self._running

    def _schedule(self, link):
        pass

    def _unschedule(self, link):
        pass

    def _transfer(self, link):
        try:
            link.transfer()
        except Exception as exc:
            self._on_exception(exc, link)

    def _start_planner(self):
        self._running = True
        self._stop.clear()
        started, fired = time.monotonic(), {}
        while not self._stop.wait(0.005):
            for link in list(self._links):
                k = int((time.monotonic() - started) / link.interval.total_seconds())
                if k > fired.get(link, 0):
                    fired[link] = k
                    threading.Thread(target=self._transfer, args=(link,), daemon=True).start()
        self._running = False

    def _shutdown_planner(self, wait=True):
        self._stop.set()


class CatchUpPlanner(ThreadPerTransferPlanner):
    """One thread per link, one transfer after the other: after a late transfer it runs
    every due time it missed, back to back."""

    def _start_planner(self):
        self._running = True
        self._stop.clear()
        threads = [threading.Thread(target=self._run_link, args=(link,), daemon=True) for link in self._links]
        for thread in threads:
            thread.start()
        self._stop.wait()
        self._running = False

    def _run_link(self, link):
        interval = link.interval.total_seconds()
        due = time.monotonic() + interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            self._transfer(link)
            due += interval


class InlinePlanner(ThreadPerTransferPlanner):
    """Runs every transfer in the planner's thread, one after the other."""

    def _start_planner(self):
        self._running = True
        self._stop.clear()
        due = {}
        while not self._stop.wait(0.005):
            for link in list(self._links):
                interval = link.interval.total_seconds()
                if time.monotonic() >= due.setdefault(link, time.monotonic() + interval):
                    self._transfer(link)
                    due[link] += interval
        self._running = False


class LoopCatchUpPlanner(EnginePlanner):
    """Times its links on the engine's loop, but after falling behind runs every due time
    it missed, one after the other."""

    def __init__(self, links=None, **options):
        super().__init__(links, timers=False, **options)

    def _on_loop_started(self):
        self._timers = [asyncio.ensure_future(self._run(link)) for link in self._links]

    def _on_loop_stopped(self):
        for timer in self._timers:
            timer.cancel()

    async def _run(self, link):
        loop = asyncio.get_running_loop()
        interval = link.interval.total_seconds()
        due = loop.time() + (0 if self.immediate_transfer and link.immediate_transfer else interval)
        while True:
            await asyncio.sleep(due - loop.time())
            await asyncio.ensure_future(self._engine.transfer_due(link))  # a task per transfer
            due += interval


class OwnTimersPlanner(EnginePlanner):
    """Times each link with a task of its own, from its schedule (as docs/engine.md's planner)."""

    def __init__(self, links=None, **options):
        super().__init__(links, timers=False, **options)

    def _on_loop_started(self):
        immediate = self.immediate_transfer
        self._tasks = [asyncio.ensure_future(self._run(link, immediate and link.immediate_transfer))
                       for link in self._links]

    def _on_loop_stopped(self):
        for task in self._tasks:
            task.cancel()

    def clock(self, schedule):
        return getattr(schedule, "clock", None) or asyncio.get_running_loop().time

    def first(self, schedule, now, immediate):
        return schedule.first_due(now, immediate)

    def following(self, schedule, due, now):
        return schedule.next_due(due, now)

    async def _run(self, link, immediate):
        schedule = schedule_of(link)
        clock = self.clock(schedule)
        due = self.first(schedule, clock(), immediate)
        while True:
            await asyncio.sleep(due - clock())
            await asyncio.ensure_future(self._engine.transfer_due(link))
            due = self.following(schedule, due, clock())


class CalendarOnTheRealClock(OwnTimersPlanner):
    """Reads the real clock, not the calendar's own."""

    def clock(self, schedule):
        return time.time if isinstance(schedule, Calendar) else super().clock(schedule)


class CalendarNeverImmediate(OwnTimersPlanner):
    def first(self, schedule, now, immediate):
        return super().first(schedule, now, immediate and not isinstance(schedule, Calendar))


class CalendarCatchUp(OwnTimersPlanner):
    """Runs every calendar time it missed, one after the other."""

    def following(self, schedule, due, now):
        return schedule.next_due(due, due)


BROKEN = {
    "test_start_blocks_until_shutdown": [ReturnsFromStart],
    "test_running_flag": [RunningBeforeStart],
    "test_shutdown_while_starting": [LosesShutdownWhileStarting],
    "test_running_from_the_moment_start_is_entered": [RunningOnlyOnceNodesStarted],
    "test_shutdown_of_links_and_outlets_without_processors": [ReadsProcessorsAtShutdown],
    "test_links_driven_through_their_methods": [BypassesLinkMethods],
    "test_shutdown_waits_for_transfers_in_flight": [ShutdownDoesNotWait],
    "test_immediate_transfer": [NoImmediateTransfer],
    "test_immediate_transfer_disabled": [AlwaysImmediate],
    "test_on_start_and_on_shutdown_once_per_node": [StartsSharedNodesTwice, NeverShutsNodesDown],
    "test_ignored_exceptions_keep_the_planner_going": [StopsOnIgnoredExceptions],
    "test_exception_stops_the_planner": [NeverStopsOnExceptions],
    "test_links_added_while_running": [IgnoresLinksAddedWhileRunning],
    "test_links_removed_while_running": [KeepsRemovedLinksScheduled],
    "test_purge_while_running": [PurgeKeepsScheduling],
    "test_transfers_of_a_link_never_overlap": [ThreadPerTransferPlanner],
    "test_due_times_missed_while_transferring_are_skipped": [CatchUpPlanner],
    "test_due_times_missed_while_late_are_coalesced": [LoopCatchUpPlanner],
    "test_sync_and_async_nodes": [InlinePlanner],
    "test_calendar_links_fall_due_at_their_times": [CalendarOnTheRealClock],
    "test_calendar_immediate_transfer": [CalendarNeverImmediate],
    "test_calendar_times_missed_while_transferring_are_skipped": [CalendarCatchUp],
}


def run_rule(rule: str, planner_class: type[BasePlanner]) -> unittest.TestResult:
    class Tester(PlannerTester):
        timeout = 2.0

        def get_planner(self, links, **options):
            return planner_class(links, **options)

    result = unittest.TestResult()
    Tester(rule).run(result)
    return result


def test_every_rule_has_a_broken_planner():
    rules = {name for name in dir(PlannerTester) if name.startswith("test_")}
    assert rules == set(BROKEN)


@pytest.mark.parametrize(
    ("rule", "planner_class"),
    [(rule, cls) for rule, classes in BROKEN.items() for cls in classes],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_rule_fails_on_a_planner_breaking_it(rule, planner_class):
    result = run_rule(rule, planner_class)
    assert result.testsRun == 1 and not result.skipped
    assert result.errors == [], result.errors[0][1] if result.errors else ""
    assert len(result.failures) == 1, f"{rule} passed on {planner_class.__name__}"


def test_the_tester_itself_is_skipped():
    result = unittest.TestResult()
    PlannerTester("test_running_flag").run(result)
    assert len(result.skipped) == 1 and result.failures == [] and result.errors == []
