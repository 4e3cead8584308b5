"""SchedulePlanner: its own scheduler, blocking start, shutdown, exceptions, and the engine's timing."""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time

import pytest
import schedule
from databay import Inlet, Link, Outlet
from databay.errors import MissingLinkError
from databay.planners import SchedulePlanner
from databay.planners.schedule_planner import ScheduleIntervalError
from databay.planners.schedule_planner import SchedulePlanner as SchedulePlannerFromModule
from databay.testing import interrupt_at_first_pull


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.threads: list[str] = []
        self.loops: list[int] = []
        self.now = 0
        self.max = 0

    def enter(self):
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)
            self.times.append(time.monotonic())
            self.threads.append(threading.current_thread().name)

    def leave(self):
        with self.lock:
            self.now -= 1

    @property
    def count(self):
        return len(self.times)


class SyncInlet(Inlet):
    def __init__(self, counter, sleep=0.0, fail=False):
        super().__init__()
        self.counter, self.sleep, self.fail = counter, sleep, fail

    def pull(self, update):
        self.counter.enter()
        try:
            if self.sleep:
                time.sleep(self.sleep)
            if self.fail:
                raise ValueError("pull failed")
            return [update.transfer_number]
        finally:
            self.counter.leave()


class AsyncInlet(Inlet):
    def __init__(self, counter, sleep=0.0):
        super().__init__()
        self.counter, self.sleep = counter, sleep

    async def pull(self, update):
        self.counter.enter()
        self.counter.loops.append(id(asyncio.get_running_loop()))
        try:
            if self.sleep:
                await asyncio.sleep(self.sleep)
            return [update.transfer_number]
        finally:
            self.counter.leave()


class Collect(Outlet):
    def __init__(self):
        super().__init__()
        self.payloads: list = []
        self.shutdowns = 0

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)

    def on_shutdown(self):
        self.shutdowns += 1


def test_import_paths_agree():
    assert SchedulePlanner is SchedulePlannerFromModule


def test_defaults():
    planner = SchedulePlanner()
    assert planner.threads == 30
    assert planner.refresh_interval == 1.0
    assert planner.ignore_exceptions is False
    assert planner.immediate_transfer is True
    assert planner.shutdown_at_exit is False
    assert planner.running is False
    assert repr(planner) == "SchedulePlanner(threads:30, refresh_interval:1.0)"


@pytest.mark.parametrize("threads", [0, -1, 2.5, "4"])
def test_threads_must_be_a_positive_int(threads):
    with pytest.raises(ValueError, match="threads must be a positive int"):
        SchedulePlanner(threads=threads)


def test_deprecated_catch_exceptions():
    with pytest.warns(DeprecationWarning, match="catch_exceptions"):
        planner = SchedulePlanner(catch_exceptions=True)
    assert planner.ignore_exceptions is True


def test_schedule_interval_error_is_kept_for_compatibility():
    assert issubclass(ScheduleIntervalError, Exception)


def test_each_planner_has_its_own_scheduler_and_jobs():
    first = Link(SyncInlet(Counter()), Collect(), 3)
    second = Link(SyncInlet(Counter()), Collect(), 7)
    one, two = SchedulePlanner(first), SchedulePlanner(second)
    assert one._scheduler is not two._scheduler
    assert one._scheduler is not schedule.default_scheduler
    assert isinstance(first.job, schedule.Job) and isinstance(second.job, schedule.Job)
    assert one._scheduler.jobs == [first.job] and two._scheduler.jobs == [second.job]
    assert first.job.interval == 3 and first.job.unit == "seconds"
    assert schedule.jobs == []
    one.remove_links(first)
    assert first.job is None and one._scheduler.jobs == []


def test_remove_missing_link():
    with pytest.raises(MissingLinkError):
        SchedulePlanner().remove_links(Link(SyncInlet(Counter()), Collect(), 1))


def test_start_blocks_until_shutdown_from_another_thread(run_planner, wait_until):
    counter = Counter()
    outlet = Collect()
    planner = SchedulePlanner(Link(SyncInlet(counter), outlet, 0.05))
    thread = run_planner(planner)
    assert wait_until(lambda: counter.count >= 3)
    assert thread.is_alive() and planner.running
    planner.shutdown(wait=True)
    thread.join(5)
    assert not thread.is_alive() and not planner.running and thread.errors == []
    assert outlet.shutdowns == 1
    assert outlet.payloads == list(range(len(outlet.payloads)))


def test_planner_can_start_again_after_shutdown(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner(Link(SyncInlet(counter), Collect(), 60))
    for expected in (1, 2):
        thread = run_planner(planner)
        assert wait_until(lambda expected=expected: counter.count == expected)
        planner.shutdown()
        thread.join(5)
        assert not thread.is_alive()


def test_refresh_interval_is_accepted_but_transfers_run_on_time(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner(Link(SyncInlet(counter), Collect(), 0.05), refresh_interval=5.0)
    assert planner.refresh_interval == 5.0
    run_planner(planner)
    started = time.monotonic()
    assert wait_until(lambda: counter.count >= 5, timeout=3)
    assert time.monotonic() - started < 2.0  # nowhere near 5 refresh intervals


@pytest.fixture
def mid_transfer(run_planner, wait_until):
    """``mid_transfer(inlet_class, sleep)``: a running planner of one link (every 60 s) whose
    first pull, taking ``sleep`` seconds, is under way; the planner, its thread and the outlet."""

    def start(inlet_class, sleep: float):
        counter = Counter()
        outlet = Collect()
        planner = SchedulePlanner(Link(inlet_class(counter, sleep=sleep), outlet, 60))
        thread = run_planner(planner)
        assert wait_until(lambda: counter.now == 1)
        return planner, thread, outlet

    return start


def test_shutdown_wait_lets_the_transfer_in_flight_finish(mid_transfer):
    planner, thread, outlet = mid_transfer(SyncInlet, sleep=0.3)
    planner.shutdown(wait=True)
    assert outlet.payloads == [0]
    assert not planner.running
    thread.join(5)
    assert outlet.shutdowns == 1


def test_shutdown_without_wait_does_not_wait(mid_transfer):
    planner, thread, outlet = mid_transfer(AsyncInlet, sleep=5)
    started = time.monotonic()
    planner.shutdown(wait=False)
    thread.join(5)
    assert time.monotonic() - started < 2.0
    assert not thread.is_alive()
    assert outlet.payloads == []  # the transfer was cancelled, not completed
    assert outlet.shutdowns == 1


def test_shutdown_from_inside_a_transfer(run_planner, wait_until):
    holder = {}

    class StopOutlet(Collect):
        def push(self, records, update):
            super().push(records, update)
            holder["planner"].shutdown()

    outlet = StopOutlet()
    planner = holder["planner"] = SchedulePlanner(Link(SyncInlet(Counter()), outlet, 0.05))
    thread = run_planner(planner, wait_running=False)
    thread.join(5)
    assert not thread.is_alive() and thread.errors == []
    assert outlet.payloads == [0] and outlet.shutdowns == 1


def test_immediate_transfer_runs_each_link_at_once(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner(Link(SyncInlet(counter), Collect(), 60))
    started = time.monotonic()
    run_planner(planner)
    assert wait_until(lambda: counter.count == 1, timeout=2)
    assert counter.times[0] - started < 1.0


def test_immediate_transfer_disabled_waits_one_interval(run_planner, wait_until):
    counter = Counter()
    skipped = Counter()
    planner = SchedulePlanner(
        [Link(SyncInlet(counter), Collect(), 0.3),
         Link(SyncInlet(skipped), Collect(), 60, immediate_transfer=False)],
        immediate_transfer=False,
    )
    started = time.monotonic()
    run_planner(planner)
    assert wait_until(lambda: counter.count == 1, timeout=3)
    assert counter.times[0] - started >= 0.29
    planner_with_link_flag = SchedulePlanner(Link(SyncInlet(skipped), Collect(), 60, immediate_transfer=False))
    run_planner(planner_with_link_flag)
    time.sleep(0.2)
    assert skipped.count == 0


def test_force_transfer_while_running(run_planner, wait_until):
    counter = Counter()
    outlet = Collect()
    planner = SchedulePlanner(Link(SyncInlet(counter), outlet, 60), immediate_transfer=False)
    run_planner(planner)
    planner.force_transfer()
    assert outlet.payloads == [0]
    assert counter.threads[0].startswith("databay-worker")


def test_transfers_from_another_thread_never_hang_on_a_planner_shutting_down(run_planner, wait_until):
    # Link.transfer() from another thread races the planner's shutdown: every call must
    # return (on the planner's loop, or without it once it stopped), none may wait forever.
    for _ in range(20):
        counter = Counter()
        link = Link(SyncInlet(counter), Collect(), 60)
        planner = SchedulePlanner(link, immediate_transfer=False)
        run_planner(planner)
        finished: list[int] = []

        def transfer_repeatedly(link=link, finished=finished):
            for _ in range(50):
                link.transfer()
            finished.append(1)

        callers = [threading.Thread(target=transfer_repeatedly, daemon=True) for _ in range(3)]
        for caller in callers:
            caller.start()
        planner.shutdown()
        for caller in callers:
            caller.join(10)
        assert len(finished) == 3, "a Link.transfer() call hung while the planner shut down"
        assert counter.count == 150


def errors_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR]


def test_ignore_exceptions_logs_and_continues(run_planner, wait_until, caplog):
    bad, good = Counter(), Counter()
    planner = SchedulePlanner(
        [Link(SyncInlet(bad, fail=True), Collect(), 0.05, tags="bad"), Link(SyncInlet(good), Collect(), 0.05)],
        ignore_exceptions=True,
    )
    with caplog.at_level(logging.ERROR, logger="databay"):
        run_planner(planner)
        assert wait_until(lambda: len(errors_logged(caplog)) >= 3 and good.count >= 3)
        assert planner.running
    failures = errors_logged(caplog)
    assert failures[0].getMessage().startswith("pull failed\n\nRaised when executing Link(tags:['bad']")


def test_exception_not_ignored_logs_and_shuts_down_gracefully(run_planner, wait_until, caplog):
    bad, slow = Counter(), Counter()
    slow_outlet = Collect()
    planner = SchedulePlanner(
        [Link(SyncInlet(bad, fail=True), Collect(), 0.05, immediate_transfer=False),
         Link(SyncInlet(slow, sleep=0.3), slow_outlet, 60)],
    )
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = run_planner(planner)
        thread.join(5)
    assert not thread.is_alive() and thread.errors == []
    assert bad.count == 1
    assert slow_outlet.payloads == [0]  # the other link's transfer in flight finished
    assert slow_outlet.shutdowns == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].getMessage().startswith("pull failed")


def test_links_added_and_removed_while_running(run_planner, wait_until):
    first, second = Counter(), Counter()
    planner = SchedulePlanner(Link(SyncInlet(first), Collect(), 0.05))
    run_planner(planner)
    second_link = Link(SyncInlet(second), Collect(), 0.05)
    planner.add_links(second_link)
    assert wait_until(lambda: second.count >= 3)
    planner.remove_links(second_link)
    assert second_link.job is None
    time.sleep(0.1)  # let a transfer in flight at removal finish
    stopped_at = second.count
    time.sleep(0.25)
    assert second.count == stopped_at
    before = first.count
    assert wait_until(lambda: first.count >= before + 2)


def test_purge_while_running(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner([Link(SyncInlet(counter), Collect(), 0.05), Link(SyncInlet(counter), Collect(), 0.05)])
    run_planner(planner)
    assert wait_until(lambda: counter.count >= 4)
    planner.purge()
    assert planner.links == []
    time.sleep(0.1)
    stopped_at = counter.count
    time.sleep(0.25)
    assert counter.count == stopped_at
    assert planner.running


def test_transfers_run_on_time_without_drift(run_planner, wait_until):
    counter = Counter()
    interval = 0.05
    planner = SchedulePlanner(Link(AsyncInlet(counter), Collect(), interval))
    run_planner(planner)
    assert wait_until(lambda: counter.count >= 20, timeout=10)
    planner.shutdown()
    times = counter.times[:20]
    lateness = [t - (times[0] + k * interval) for k, t in enumerate(times)]
    # Ideal times are anchored on the first transfer, so lateness never accumulates.
    assert all(late > -0.005 for late in lateness), lateness
    assert statistics.median(lateness) < 0.025, lateness
    assert max(lateness) < 0.2, lateness  # a noisy machine may delay one, never all
    assert abs((times[19] - times[0]) - 19 * interval) < 0.15


def test_a_links_transfers_never_overlap(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner(Link(SyncInlet(counter, sleep=0.12), Collect(), 0.03))
    run_planner(planner)
    assert wait_until(lambda: counter.count >= 4)
    planner.shutdown()
    assert counter.max == 1
    assert planner._engine.skipped_transfers(planner.links[0]) > 0


def test_sync_pulls_never_block_the_loop(run_planner, wait_until):
    slow, fast = Counter(), Counter()
    planner = SchedulePlanner([
        Link(SyncInlet(slow, sleep=0.5), Collect(), 60),
        Link(AsyncInlet(fast), Collect(), 0.05),
    ])
    run_planner(planner)
    assert wait_until(lambda: slow.now == 1)
    assert wait_until(lambda: fast.count >= 6)
    assert slow.count == 1 and slow.now == 1  # the slow pull is still going
    assert slow.threads[0].startswith("databay-worker")
    gaps = [b - a for a, b in zip(fast.times, fast.times[1:])]
    assert max(gaps) < 0.3, gaps


def test_async_pulls_run_on_the_planner_thread(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner(Link(AsyncInlet(counter), Collect(), 0.05))
    thread = run_planner(planner)
    assert wait_until(lambda: counter.count >= 2)
    assert set(counter.threads) == {thread.name}


def test_thread_pool_bounds_concurrent_sync_pulls(run_planner, wait_until):
    counter = Counter()
    planner = SchedulePlanner([Link(SyncInlet(counter, sleep=0.1), Collect(), 60) for _ in range(4)], threads=2)
    run_planner(planner)
    assert wait_until(lambda: counter.count == 4 and counter.now == 0)
    assert counter.max == 2


def test_one_event_loop_per_planner(run_planner, wait_until):
    a1, a2, b = Counter(), Counter(), Counter()
    first = SchedulePlanner([Link(AsyncInlet(a1), Collect(), 0.05), Link(AsyncInlet(a2), Collect(), 0.05)])
    second = SchedulePlanner(Link(AsyncInlet(b), Collect(), 0.05))
    run_planner(first)
    run_planner(second)
    assert wait_until(lambda: min(a1.count, a2.count, b.count) >= 3)
    first.shutdown()
    second.shutdown()
    assert len(set(a1.loops) | set(a2.loops)) == 1
    assert len(set(b.loops)) == 1
    assert set(a1.loops) != set(b.loops)


def test_async_on_start_and_on_shutdown_run_on_the_loop(run_planner, wait_until):
    calls = []

    class AsyncLifecycle(Collect):
        async def on_start(self):
            calls.append(("start", threading.current_thread().name))

        async def on_shutdown(self):
            calls.append(("shutdown", threading.current_thread().name))

    planner = SchedulePlanner(Link(SyncInlet(Counter()), AsyncLifecycle(), 60))
    thread = run_planner(planner)
    planner.shutdown()
    thread.join(5)
    assert calls == [("start", thread.name), ("shutdown", thread.name)]


def test_after_a_late_transfer_the_link_returns_to_its_ideal_times(run_planner, wait_until):
    counter = Counter()
    interval = 0.1

    class SlowOnce(AsyncInlet):
        async def pull(self, update):
            result = await super().pull(update)
            if update.transfer_number == 2:
                await asyncio.sleep(0.25)  # overruns two due times
            return result

    planner = SchedulePlanner(Link(SlowOnce(counter), Collect(), interval))
    run_planner(planner)
    assert wait_until(lambda: counter.count >= 8, timeout=10)
    planner.shutdown()
    start = counter.times[0]
    offsets = [(t - start) / interval for t in counter.times[:8]]
    off_grid = [abs(x - round(x)) * interval for x in offsets]
    assert statistics.median(off_grid) < 0.02, offsets
    assert round(offsets[3]) >= 5  # the due times during the slow transfer were skipped, not queued
    assert planner._engine.skipped_transfers(planner.links[0]) >= 2


def test_every_on_start_runs_before_the_first_transfer(run_planner, wait_until):
    events = []

    class Node(SyncInlet):
        def on_start(self):
            events.append("start")

        def pull(self, update):
            events.append("pull")
            return []

    planner = SchedulePlanner([Link(Node(Counter()), Collect(), 60) for _ in range(3)])
    run_planner(planner)
    assert wait_until(lambda: events.count("pull") == 3)
    assert events == ["start"] * 3 + ["pull"] * 3


def test_planner_without_links_blocks_until_shutdown(run_planner):
    planner = SchedulePlanner()
    thread = run_planner(planner)
    time.sleep(0.1)
    assert thread.is_alive() and planner.running
    planner.shutdown()
    thread.join(5)
    assert not thread.is_alive()


def test_shutdown_before_start_does_nothing():
    outlet = Collect()
    planner = SchedulePlanner(Link(SyncInlet(Counter()), outlet, 60))
    planner.shutdown()
    assert outlet.shutdowns == 0 and not planner.running


def test_ctrl_c_shuts_down_gracefully():
    result = interrupt_at_first_pull("databay.planners:SchedulePlanner")
    assert result.stdout == "pulled\non_shutdown ran\nKeyboardInterrupt raised\n", result.stderr
    assert result.returncode == 0


def test_failing_on_start_without_ignoring_shuts_down_before_any_transfer(run_planner, caplog):
    counter = Counter()

    class BadStart(Collect):
        def on_start(self):
            raise OSError("cannot connect")

    good_outlet = Collect()
    planner = SchedulePlanner([Link(SyncInlet(counter), BadStart(), 60), Link(SyncInlet(counter), good_outlet, 60)])
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = run_planner(planner, wait_running=False)
        thread.join(5)
    assert not thread.is_alive() and thread.errors == []
    assert counter.count == 0
    assert good_outlet.active is False and good_outlet.shutdowns == 1
    assert 'on_start link exception: "cannot connect"' in errors_logged(caplog)[0].getMessage()


def test_failing_on_start_with_ignoring_carries_on(run_planner, wait_until, caplog):
    counter = Counter()

    class BadStart(Collect):
        def on_start(self):
            raise OSError("cannot connect")

    planner = SchedulePlanner(Link(SyncInlet(counter), BadStart(), 0.05), ignore_exceptions=True)
    with caplog.at_level(logging.ERROR, logger="databay"):
        run_planner(planner)
        assert wait_until(lambda: counter.count >= 2)
    assert 'on_start link exception: "cannot connect"' in errors_logged(caplog)[0].getMessage()
