"""The planner hooks: observers get onto a planner's loop before its first transfer and
leave it after the last ``on_shutdown`` (what databay-web serves its dashboard from)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from databay import Inlet, Link, Outlet, hookimpl
from databay.observers import add_observer, notify_planner, remove_observer
from databay.planners import SchedulePlanner


class Steps(Inlet):
    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_start(self):
        self.log.append("on_start")

    def pull(self, update):
        self.log.append("pull")
        return [1]

    def on_shutdown(self):
        self.log.append("on_shutdown")


class Sink(Outlet):
    def push(self, records, update):
        pass


class LoopWatcher:
    """Runs a task of its own on the planner's loop, as a web server would."""

    def __init__(self, log):
        self.log = log
        self.loop = None
        self.ticks = 0
        self._task = None

    @hookimpl
    async def databay_planner_started(self, planner):
        self.loop = asyncio.get_running_loop()
        self.log.append("started")
        await asyncio.sleep(0)  # awaited: the first transfer waits for it
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self):
        while True:
            self.ticks += 1
            await asyncio.sleep(0.005)

    @hookimpl
    async def databay_planner_stopped(self, planner):
        self.log.append("stopped")
        self._task.cancel()


@pytest.fixture
def watcher_log():
    log = []
    watcher = LoopWatcher(log)
    add_observer(watcher)
    yield watcher, log
    remove_observer(watcher)


def test_planner_hooks_run_on_the_loop_around_the_transfers(watcher_log, run_planner, wait_until):
    watcher, log = watcher_log
    planner = SchedulePlanner(Link(Steps(log), Sink(), 0.02, tags="hooked"))
    thread = run_planner(planner)
    assert wait_until(lambda: log.count("pull") >= 3 and watcher.ticks >= 3)
    planner.shutdown()
    thread.join(10)
    assert log[:3] == ["on_start", "started", "pull"]
    assert log[-2:] == ["on_shutdown", "stopped"]
    assert watcher.loop is not None and watcher.loop.is_closed()  # it was the planner's own loop


def test_a_failing_planner_hook_is_logged_and_the_planner_runs(run_planner, wait_until, caplog):
    log = []

    class Broken:
        @hookimpl
        def databay_planner_started(self, planner):
            raise RuntimeError("hook broke")

    broken = Broken()
    add_observer(broken)
    try:
        planner = SchedulePlanner(Link(Steps(log), Sink(), 0.02, tags="still"))
        with caplog.at_level(logging.ERROR, logger="databay.observers"):
            run_planner(planner)
            assert wait_until(lambda: log.count("pull") >= 2)
        assert "databay_planner_started" in caplog.text and "hook broke" in caplog.text
    finally:
        remove_observer(broken)


def test_stopped_follows_started_even_when_the_planner_stops_while_starting(watcher_log):
    watcher, log = watcher_log

    class StopOnStart(Inlet):
        def pull(self, update):
            return []

        def on_start(self):
            planner.shutdown(wait=False)

    planner = SchedulePlanner(Link(StopOnStart(), Sink(), 1, tags="stop"))
    planner.start()
    assert log.count("started") == log.count("stopped") <= 1


def test_notify_planner_takes_only_planner_hooks():
    with pytest.raises(ValueError, match="not a planner hook"):
        asyncio.run(notify_planner("databay_transfer_started", None))


def test_an_observer_of_planner_hooks_alone_is_accepted():
    class OnlyStart:
        @hookimpl
        def databay_planner_started(self, planner):
            pass

    observer = OnlyStart()
    add_observer(observer)
    remove_observer(observer)
