"""EnginePlanner with timers of its own: the planner of docs/engine.md ("Writing a planner")
passes the conformance kit, which shows the public extension points are enough for a plugin
planner; the same planner written with the earlier underscore names passes too."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

from databay.engine_planner import EnginePlanner
from databay.schedules import schedule_of
from databay.testing import PlannerTester


class EveryIntervalPlanner(EnginePlanner):
    """Times its links with asyncio tasks of its own (a scheduler library would do the same)."""

    def __init__(self, links=None, threads=30, ignore_exceptions=False, immediate_transfer=True):
        self._loop = None
        self._timers = {}  # link -> its timer task, while running
        super().__init__(links, threads, ignore_exceptions, immediate_transfer=immediate_transfer,
                         timers=False)   # the engine arms no timers: this planner does

    def schedule(self, link):
        super().schedule(link)   # registers the link with the engine
        if self._loop is not None:   # added while running (from any thread)
            self._loop.call_soon_threadsafe(self._start_timer, link, False)

    def on_loop_started(self):
        # On the planner's loop, after every on_start, before any transfer.
        self._loop = asyncio.get_running_loop()
        for link in list(self.links):
            self._start_timer(link, self.immediate_transfer and link.immediate_transfer)

    def on_loop_stopped(self):
        # On the loop, once the transfers in flight finished, before any on_shutdown.
        self._loop = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _start_timer(self, link, immediate):
        if link not in self._timers:
            self._timers[link] = asyncio.ensure_future(self._run(link, immediate))

    async def _run(self, link, immediate):
        # An interval grid, or a calendar whose due times are on the wall clock (its clock).
        schedule = schedule_of(link)
        clock = getattr(schedule, "clock", None) or asyncio.get_running_loop().time
        due = schedule.first_due(clock(), immediate)
        while True:
            await asyncio.sleep(due - clock())
            if not any(link is known for known in self.links):   # removed
                del self._timers[link]
                return
            # A task of its own per transfer (the planner counts the task it runs in as
            # in flight); waiting for it, the link's transfers never overlap.
            await asyncio.ensure_future(self.transfer_due(link))
            # The next due time after now: those the transfer outlasted are skipped.
            due = schedule.next_due(due, clock())


class UnderscoreNamesPlanner(EveryIntervalPlanner):
    """The same planner as earlier versions documented it: underscore names and the engine."""

    def schedule(self, link):
        EnginePlanner.schedule(self, link)   # no timer from here: _schedule starts it

    def _schedule(self, link):
        super()._schedule(link)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._start_timer, link, False)

    def on_loop_started(self):
        EnginePlanner.on_loop_started(self)

    def _on_loop_started(self):
        EveryIntervalPlanner.on_loop_started(self)

    def on_loop_stopped(self):
        EnginePlanner.on_loop_stopped(self)

    def _on_loop_stopped(self):
        EveryIntervalPlanner.on_loop_stopped(self)

    async def transfer_due(self, link):
        return await self._engine.transfer_due(link)


class TestDocumentedPlannerContract(PlannerTester):
    def get_planner(self, links, **options):
        return EveryIntervalPlanner(links, **options)


class TestUnderscoreNamesContract(PlannerTester):
    def get_planner(self, links, **options):
        return UnderscoreNamesPlanner(links, **options)


def test_the_planner_is_the_one_in_the_docs():
    docs = Path(__file__).resolve().parents[2] / "docs" / "engine.md"
    assert inspect.getsource(EveryIntervalPlanner) in docs.read_text(encoding="utf-8")
