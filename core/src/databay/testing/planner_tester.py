"""The :class:`PlannerTester`: a ``unittest.TestCase`` checking a planner's contract.

Every test builds links from probe inlets and outlets (synchronous and asynchronous) that
record when each transfer starts and ends, in which thread and on which event loop, and
when ``on_start``/``on_shutdown`` run; it starts the planner in a thread, as an
application would, and shuts it down afterwards whatever happened.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
import unittest
from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

from databay.base_planner import BasePlanner
from databay.calendar import Calendar
from databay.inlet import Inlet
from databay.link import Link
from databay.outlet import Outlet
from databay.testing._contract import PlannerThread, wait_until
from databay.testing.clock import FakeClock


class Probe:
    """What happened to one link's transfers, and to the lifecycle of its nodes.

    Shared by the probe nodes below (usable in a planner's own tests too): ``starts``
    and ``ends`` of pulls (``time.monotonic()``), their ``threads``, the event ``loops``
    of async pulls, the most pulls at once (``max_active``), and a ``journal`` of
    ``("start" | "pull" | "push" | "shutdown", node name)``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.journal: list[tuple[str, str]] = []
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.threads: list[int] = []
        self.loops: list[int] = []  # event loops of async pulls
        self.loop_threads: list[int] = []  # threads of async pulls
        self.active = 0
        self.max_active = 0

    def enter(self, name: str) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.starts.append(time.monotonic())
            self.threads.append(threading.get_ident())
            self.journal.append(("pull", name))

    def leave(self) -> None:
        with self.lock:
            self.active -= 1
            self.ends.append(time.monotonic())

    def note(self, event: str, name: str) -> None:
        with self.lock:
            self.journal.append((event, name))

    @property
    def count(self) -> int:
        return len(self.starts)


class _Node:
    """Counts ``on_start``/``on_shutdown`` calls and writes them to the probe's journal."""

    def __init__(self, probe: Probe, name: str):
        super().__init__()
        self.probe, self.name = probe, name
        self.starts = self.shutdowns = 0

    def _lifecycle(self, event: str) -> None:
        if event == "start":
            self.starts += 1
        else:
            self.shutdowns += 1
        self.probe.note(event, self.name)

    def on_start(self):
        self._lifecycle("start")

    def on_shutdown(self):
        self._lifecycle("shutdown")


class _AsyncNode(_Node):
    """A :class:`_Node` whose ``on_start``/``on_shutdown`` are coroutines."""

    async def on_start(self):
        self._lifecycle("start")

    async def on_shutdown(self):
        self._lifecycle("shutdown")


class ProbeInlet(_Node, Inlet):
    """A synchronous inlet producing its transfer number; ``sleep`` seconds per pull (or
    per transfer number, ``{n: seconds}``); ``fail`` makes every pull raise."""

    def __init__(self, probe: Probe, name: str = "inlet", sleep: float | dict[int, float] = 0.0,
                 fail: bool = False):
        super().__init__(probe, name)
        self.sleep, self.fail = sleep, fail

    def _duration(self, update) -> float:
        return self.sleep.get(update.transfer_number, 0.0) if isinstance(self.sleep, dict) else self.sleep

    def _produce(self, update) -> list[int]:
        if self.fail:
            raise RuntimeError(f"PlannerTester: {self.name} failed on purpose")
        return [update.transfer_number]

    def pull(self, update):
        self.probe.enter(self.name)
        try:
            time.sleep(self._duration(update))
            return self._produce(update)
        finally:
            self.probe.leave()


class AsyncProbeInlet(_AsyncNode, ProbeInlet):
    """The asynchronous :class:`ProbeInlet`, with asynchronous ``on_start``/``on_shutdown``.

    With ``hold_loop`` it sleeps with ``time.sleep``, holding up its event loop (as a
    misbehaving node or a starved machine would).
    """

    def __init__(self, probe: Probe, name: str = "inlet", sleep: float | dict[int, float] = 0.0,
                 fail: bool = False, hold_loop: bool = False):
        super().__init__(probe, name, sleep, fail)
        self.hold_loop = hold_loop

    async def pull(self, update):
        self.probe.enter(self.name)
        self.probe.loops.append(id(asyncio.get_running_loop()))
        self.probe.loop_threads.append(threading.get_ident())
        try:
            if self.hold_loop:
                time.sleep(self._duration(update))
            else:
                await asyncio.sleep(self._duration(update))
            return self._produce(update)
        finally:
            self.probe.leave()


class ProbeOutlet(_Node, Outlet):
    """A synchronous outlet keeping every payload pushed to it."""

    def __init__(self, probe: Probe, name: str = "outlet"):
        super().__init__(probe, name)
        self.payloads: list[Any] = []

    def push(self, records, update):
        self.payloads.extend(record.payload for record in records)
        self.probe.note("push", self.name)


class AsyncProbeOutlet(_AsyncNode, ProbeOutlet):
    """The asynchronous :class:`ProbeOutlet`, with asynchronous ``on_start``/``on_shutdown``."""

    async def push(self, records, update):
        await asyncio.sleep(0)
        super().push(records, update)


class JournalLink(Link):
    """A :class:`Link` subclass overriding ``transfer``, ``on_start`` and ``on_shutdown``, as
    databay 0.3 code does to add logging or metrics; ``journal`` lists the calls."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.journal: list[str] = []

    def transfer(self):  # type: ignore[override]
        self.journal.append("transfer")
        return super().transfer()

    def on_start(self) -> None:
        self.journal.append("on_start")
        super().on_start()

    def on_shutdown(self) -> None:
        self.journal.append("on_shutdown")
        super().on_shutdown()


def _probe_outlet(link: Link) -> ProbeOutlet:
    """The outlet of a link made by :meth:`PlannerTester.link`."""
    outlet = link.outlets[0]
    assert isinstance(outlet, ProbeOutlet)
    return outlet


class _BareOutlet(Outlet):
    """An outlet whose ``__init__`` skips ``Outlet.__init__`` (databay 0.3 allowed it): it has
    no ``processors`` and no metadata."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def push(self, records: list[Any], update: Any) -> None:
        self.received.extend(records)


class _WatchesRunning(ProbeInlet):
    """Notes ``planner.running`` when the planner starts it (``watched`` is set by the test)."""

    watched: BasePlanner | None = None

    def on_start(self) -> None:
        if self.watched is not None:
            self.probe.note(f"running={self.watched.running}", self.name)
        super().on_start()


class PlannerTester(unittest.TestCase):
    """Base class whose tests check that a planner honours databay's planner contract.

    Subclass it and implement :meth:`get_planner`; pytest (or unittest) then runs one test
    per rule:

    - ``start()`` blocks until ``shutdown()``; ``running`` is ``False`` before start,
      ``True`` from the moment ``start()`` is called and ``False`` once ``shutdown()``
      returned; a ``shutdown()`` while the planner is starting stops it once it is up;
    - a link whose ``transfer``, ``on_start`` or ``on_shutdown`` is overridden is driven
      through them (and ``super().transfer()`` runs where the planner runs transfers);
    - ``shutdown(wait=True)`` returns after the transfers in flight (sync and async) finished;
    - ``immediate_transfer`` transfers each link at once on start (unless the planner or
      the link disables it), else first after one interval;
    - ``on_start``/``on_shutdown`` (sync or async) run once per node, even for a node
      shared by several links: every ``on_start`` before the first pull, every
      ``on_shutdown`` after the last push;
    - with ``ignore_exceptions=True`` a failing link is logged and the planner carries
      on; otherwise it is logged and the planner shuts down gracefully (``start()``
      returns, ``on_shutdown`` runs);
    - links added, removed or purged while running start or stop transferring;
    - a link's transfers never overlap, and due times that pass while a transfer is still
      running are skipped: the link returns to its ideal times, no burst;
    - a planner that fell behind coalesces the due times it missed into one transfer per
      link, then returns to the ideal times;
    - sync and async nodes work together; a slow sync pull never holds up the other
      links, and every async pull of a planner runs on the same event loop;
    - links on a :class:`~databay.calendar.Calendar` fall due at its times, read from the
      calendar's clock in its time zone (a :class:`~databay.testing.FakeClock` set just
      before clocks go forward: a daily time in the skipped hour runs once, right after
      it), honour ``immediate_transfer``, and skip the times that pass while a transfer
      runs. Set :attr:`calendar_schedules` to ``False`` for a planner that runs intervals only.

    Timing checks use :attr:`interval` (seconds) as the links' interval; raise it for a
    planner that cannot time transfers that finely.
    """

    interval: float = 0.1
    """Interval of the links in the timing tests (seconds)."""
    timeout: float = 5.0
    """How long to wait for something that must happen (seconds)."""
    calendar_schedules: bool = True
    """Whether the planner runs links on a calendar (``False``: those rules are skipped)."""
    calendar_zone: str = "Europe/Amsterdam"
    """The time zone of the calendar rules (clocks go forward there on 2024-03-31 at 02:00)."""
    calendar_tolerance: float = 0.5
    """How late (seconds) a calendar link may start after its due time, on a busy machine."""

    __test__ = False  # the base class has nothing to test; its subclasses are collected

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__test__ = cls.__dict__.get("__test__", True)

    def get_planner(self, links: list[Link], **options: Any) -> BasePlanner:
        """Implement this method to return a new planner of your class scheduling ``links``.

        ``options`` are constructor arguments of :class:`~databay.base_planner.BasePlanner`
        that a test sets: ``ignore_exceptions`` and ``immediate_transfer``.
        """
        raise NotImplementedError("Implement get_planner(links, **options) to return your planner.")

    def setUp(self) -> None:
        if type(self).get_planner is PlannerTester.get_planner:
            self.skipTest("PlannerTester itself has no planner to test")

    # -- helpers -----------------------------------------------------------------

    def start_planner(self, planner: BasePlanner, wait_running: bool = True) -> PlannerThread:
        """Run ``planner.start()`` in a thread (shut down and joined after the test).

        The thread's ``errors`` list gets whatever ``start()`` raised.
        """
        thread = PlannerThread(planner, name="PlannerTester-planner")
        thread.start()
        self.addCleanup(self._stop, planner, thread)
        if wait_running:
            self.assertTrue(self.wait_for(lambda: planner.running or not thread.is_alive()),
                            "the planner did not start running")
        return thread

    def _stop(self, planner: BasePlanner, thread: threading.Thread) -> None:
        if thread.is_alive() or planner.running:
            try:
                planner.shutdown(wait=False)
            finally:
                thread.join(self.timeout)

    def wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Poll ``condition`` until it is true (``True``) or ``timeout`` passed (``False``)."""
        return wait_until(condition, self.timeout if timeout is None else timeout)

    def shut_down(self, planner: BasePlanner, thread: PlannerThread) -> None:
        """``shutdown(wait=True)`` and check that ``start()`` returned without raising."""
        planner.shutdown(wait=True)
        thread.join(self.timeout)
        self.assertFalse(thread.is_alive(), "start() did not return after shutdown()")
        self.assertEqual(thread.errors, [], "start() raised")

    def link(self, probe: Probe, interval: float | None = None, *, async_inlet: bool = False,
             async_outlet: bool = False, name: str = "link", **options: Any) -> Link:
        """A link from a probe inlet to a probe outlet; ``options`` go to the inlet
        (``sleep``, ``fail``) or the link (``immediate_transfer``)."""
        immediate = options.pop("immediate_transfer", True)
        inlet = (AsyncProbeInlet if async_inlet else ProbeInlet)(probe, f"{name}.inlet", **options)
        outlet = (AsyncProbeOutlet if async_outlet else ProbeOutlet)(probe, f"{name}.outlet")
        return Link(inlet, outlet, interval=self.interval if interval is None else interval, tags=name,
                    immediate_transfer=immediate)

    # -- start and shutdown ------------------------------------------------------

    def test_start_blocks_until_shutdown(self) -> None:
        """start() keeps running (and transferring) until shutdown() is called."""
        probe = Probe()
        planner = self.get_planner([self.link(probe)])
        thread = self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count >= 3), "the link did not transfer")
        self.assertTrue(thread.is_alive(), "start() returned before shutdown()")
        self.shut_down(planner, thread)

    def test_running_flag(self) -> None:
        """running: False before start, True while running, False once shutdown() returned."""
        probe = Probe()
        planner = self.get_planner([self.link(probe, 60)])
        self.assertFalse(planner.running, "running before start()")
        thread = self.start_planner(planner, wait_running=False)
        self.assertTrue(self.wait_for(lambda: planner.running), "not running after start()")
        time.sleep(self.interval)
        self.assertTrue(planner.running)
        planner.shutdown(wait=True)
        self.assertFalse(planner.running, "still running after shutdown(wait=True) returned")
        thread.join(self.timeout)
        self.assertFalse(thread.is_alive())

    def test_shutdown_waits_for_transfers_in_flight(self) -> None:
        """shutdown(wait=True) returns after the sync and async transfers in flight finished."""
        slow = 3 * self.interval
        probes = [Probe(), Probe()]
        links = [self.link(probes[0], 60, sleep=slow, name="sync"),
                 self.link(probes[1], 60, async_inlet=True, async_outlet=True, sleep=slow, name="async")]
        planner = self.get_planner(links)
        thread = self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: all(p.active == 1 for p in probes)),
                        "the immediate transfers did not start")
        self.shut_down(planner, thread)
        for link, probe in zip(links, probes):
            outlet = _probe_outlet(link)
            self.assertEqual(outlet.payloads, [0], f"{link.tags[0]}: the transfer in flight did not finish")
            self.assertEqual(outlet.shutdowns, 1)
            self.assertLess(probe.journal.index(("push", outlet.name)),
                            probe.journal.index(("shutdown", outlet.name)),
                            "on_shutdown ran before the transfer in flight finished")

    def test_shutdown_while_starting(self) -> None:
        """A shutdown() as soon as start() runs in a thread is not lost: the planner stops."""
        for _ in range(5):
            planner = self.get_planner([self.link(Probe(), 60)])
            thread = self.start_planner(planner)  # returns once running: start() was entered
            planner.shutdown(wait=True)
            thread.join(self.timeout)
            self.assertFalse(thread.is_alive(), "shutdown() while the planner was starting was lost")
            self.assertFalse(planner.running)

    def test_running_from_the_moment_start_is_entered(self) -> None:
        """running is True as soon as start() is entered: when it starts the links' nodes."""
        probe = Probe()
        inlet = _WatchesRunning(probe, "watch.inlet")
        planner = self.get_planner([Link(inlet, ProbeOutlet(probe, "watch.outlet"), interval=60, tags="watch")])
        inlet.watched = planner
        thread = self.start_planner(planner, wait_running=False)
        self.assertTrue(self.wait_for(lambda: ("start", "watch.inlet") in probe.journal), "on_start was not called")
        self.shut_down(planner, thread)
        running = [event for event, name in probe.journal if event.startswith("running=")]
        self.assertEqual(running, ["running=True"], "running was False while start() started the nodes")

    def test_shutdown_of_links_and_outlets_without_processors(self) -> None:
        """shutdown() copes with what databay 0.3 allowed: a test double built from Link's spec
        (``MagicMock(spec=Link)``) without ``processors``, and an outlet that skipped
        ``Outlet.__init__`` (started and shut down, never pushed to); the double still gets
        its ``on_shutdown``."""
        double = MagicMock(spec=Link)
        double.interval = datetime.timedelta(seconds=60)
        del double.processors
        bare = _BareOutlet()
        planner = self.get_planner([self.link(Probe(), 60), Link(ProbeInlet(Probe(), "bare.inlet"), bare, 60, immediate_transfer=False), double])
        thread = self.start_planner(planner)
        try:
            planner.shutdown(wait=True)
        except Exception as exc:
            self.fail(f"shutdown() raised {exc!r} on a link or outlet without processors")
        thread.join(self.timeout)
        self.assertFalse(thread.is_alive(), "start() did not return after shutdown()")
        double.on_shutdown.assert_called_once_with()
        self.assertFalse(planner.running)

    def test_links_driven_through_their_methods(self) -> None:
        """A Link subclass overriding transfer/on_start/on_shutdown is driven through them."""
        probe = Probe()
        inlet = AsyncProbeInlet(probe, "journal.inlet")
        outlet = ProbeOutlet(probe, "journal.outlet")
        link = JournalLink(inlet, outlet, interval=self.interval, tags="journal")
        planner = self.get_planner([link])
        thread = self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: link.journal.count("transfer") >= 2),
                        "the overriding transfer() was never called")
        self.shut_down(planner, thread)
        self.assertEqual(link.journal[0], "on_start", "the overriding on_start() was not called first")
        self.assertEqual(link.journal[-1], "on_shutdown", "the overriding on_shutdown() was not called last")
        self.assertEqual((link.journal.count("on_start"), link.journal.count("on_shutdown")), (1, 1))
        self.assertEqual(outlet.payloads, list(range(len(outlet.payloads))), "records lost or repeated")
        self.assertEqual(len(set(probe.loops)), 1, "super().transfer() pulled on more than one event loop")

    def calendar_link(self, probe: Probe, text: str, clock: FakeClock, *, name: str = "calendar",
                      **options: Any) -> Link:
        """A link like :meth:`link`'s, on ``Calendar(text)`` in :attr:`calendar_zone` on ``clock``."""
        if not self.calendar_schedules:
            self.skipTest(f"{type(self).__name__}: the planner does not run calendar schedules")
        immediate = options.pop("immediate_transfer", True)
        inlet = ProbeInlet(probe, f"{name}.inlet", **options)
        return Link(inlet, ProbeOutlet(probe, f"{name}.outlet"), Calendar(text, self.calendar_zone, clock=clock),
                    tags=name, immediate_transfer=immediate)

    # -- immediate transfer ------------------------------------------------------

    def test_immediate_transfer(self) -> None:
        """With immediate_transfer (the default) every link transfers at once on start."""
        probe = Probe()
        planner = self.get_planner([self.link(probe, 60, name="a"), self.link(probe, 60, name="b")])
        started = time.monotonic()
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count == 2, timeout=max(2.0, 10 * self.interval)),
                        "no immediate transfer of both links on start")
        self.assertLess(max(probe.starts) - started, max(2.0, 10 * self.interval))

    def test_immediate_transfer_disabled(self) -> None:
        """immediate_transfer=False (planner or link): the first transfer comes after one interval."""
        interval = 3 * self.interval
        probe, link_disabled = Probe(), Probe()
        planner = self.get_planner([self.link(probe, interval)], immediate_transfer=False)
        other = self.get_planner([self.link(link_disabled, 60, immediate_transfer=False)])
        started = time.monotonic()
        self.start_planner(planner)
        self.start_planner(other)
        self.assertTrue(self.wait_for(lambda: probe.count >= 1), "the link never transferred")
        self.assertGreaterEqual(probe.starts[0] - started, 0.9 * interval,
                                "transferred at once although immediate_transfer=False")
        self.assertEqual(link_disabled.count, 0, "a link with immediate_transfer=False transferred at once")

    # -- lifecycle ---------------------------------------------------------------

    def test_on_start_and_on_shutdown_once_per_node(self) -> None:
        """on_start/on_shutdown run once per node (also shared and async ones), around all transfers."""
        probe = Probe()
        shared = ProbeOutlet(probe, "shared.outlet")
        inlets = [ProbeInlet(probe, "sync.inlet"), AsyncProbeInlet(probe, "async.inlet")]
        own = AsyncProbeOutlet(probe, "async.outlet")
        links = [Link(inlets[0], shared, interval=self.interval, tags="one"),
                 Link(inlets[1], [shared, own], interval=self.interval, tags="two")]
        planner = self.get_planner(links)
        thread = self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count >= 4), "the links did not transfer")
        self.shut_down(planner, thread)
        for node in [*inlets, shared, own]:
            self.assertEqual((node.starts, node.shutdowns), (1, 1),
                             f"{node.name}: on_start/on_shutdown calls (expected once each)")
        events = [event for event, _ in probe.journal]
        last_start = max(i for i, e in enumerate(events) if e == "start")
        first_shutdown = min(i for i, e in enumerate(events) if e == "shutdown")
        self.assertLess(last_start, events.index("pull"), "a transfer ran before every on_start")
        self.assertGreater(first_shutdown, max(i for i, e in enumerate(events) if e == "push"),
                           "a transfer ran after an on_shutdown")

    # -- exceptions --------------------------------------------------------------

    def test_ignored_exceptions_keep_the_planner_going(self) -> None:
        """ignore_exceptions=True: a failing link is logged and retried, the others carry on."""
        failing, healthy = Probe(), Probe()
        planner = self.get_planner([self.link(failing, fail=True, name="failing"), self.link(healthy)],
                                   ignore_exceptions=True)
        with self.assertLogs("databay", logging.ERROR) as logs:
            thread = self.start_planner(planner)
            self.assertTrue(self.wait_for(lambda: failing.count >= 3 and healthy.count >= 3),
                            "the planner did not carry on after exceptions")
            self.assertTrue(planner.running and thread.is_alive(), "the planner stopped on an ignored exception")
        self.assertTrue(any("failed on purpose" in line for line in logs.output), "the exception was not logged")
        self.shut_down(planner, thread)

    def test_exception_stops_the_planner(self) -> None:
        """ignore_exceptions=False: a failing transfer is logged and the planner shuts down gracefully."""
        failing, healthy = Probe(), Probe()
        links = [self.link(failing, fail=True, name="failing"), self.link(healthy, name="healthy")]
        planner = self.get_planner(links, ignore_exceptions=False)
        with self.assertLogs("databay", logging.ERROR) as logs:
            thread = self.start_planner(planner, wait_running=False)
            thread.join(self.timeout)
        self.assertFalse(thread.is_alive(), "the planner kept running after an exception")
        self.assertEqual(thread.errors, [], "start() raised instead of shutting down gracefully")
        self.assertFalse(planner.running)
        self.assertEqual(failing.count, 1, "the failing link transferred again")
        self.assertTrue(any("failed on purpose" in line for line in logs.output), "the exception was not logged")
        for link in links:
            for node in [*link.inlets, *link.outlets]:
                assert isinstance(node, _Node)  # made by self.link()
                self.assertEqual(node.shutdowns, 1, f"{node.name}: on_shutdown did not run once")

    # -- links while running -----------------------------------------------------

    def test_links_added_while_running(self) -> None:
        """A link added while running is scheduled."""
        first, added = Probe(), Probe()
        planner = self.get_planner([self.link(first, 60)])
        self.start_planner(planner)
        planner.add_links(self.link(added, name="added"))
        self.assertTrue(self.wait_for(lambda: added.count >= 3), "the added link did not transfer")
        self.assertEqual(added.max_active, 1)

    def test_links_removed_while_running(self) -> None:
        """A link removed while running stops transferring; the others carry on."""
        kept, removed = Probe(), Probe()
        gone = self.link(removed, name="removed")
        planner = self.get_planner([self.link(kept, name="kept"), gone])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: removed.count >= 2 and kept.count >= 2))
        planner.remove_links(gone)
        self.assertNotIn(gone, planner.links)
        self._assert_stops(removed, "the removed link")
        before = kept.count
        self.assertTrue(self.wait_for(lambda: kept.count >= before + 2), "the remaining link stopped")

    def test_purge_while_running(self) -> None:
        """purge() unschedules every link; the planner keeps running."""
        probe = Probe()
        planner = self.get_planner([self.link(probe, name="a"), self.link(probe, name="b")])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count >= 4))
        planner.purge()
        self.assertEqual(planner.links, [])
        self._assert_stops(probe, "purged links")
        self.assertTrue(planner.running, "purge() stopped the planner")

    def _assert_stops(self, probe: Probe, what: str) -> None:
        self.assertTrue(self.wait_for(lambda: probe.active == 0))
        time.sleep(self.interval)  # a transfer already due may still start
        stopped_at = probe.count
        time.sleep(4 * self.interval)
        self.assertEqual(probe.count, stopped_at, f"{what} kept transferring")

    # -- timing --------------------------------------------------------------------

    def test_transfers_of_a_link_never_overlap(self) -> None:
        """A link whose transfers outlast its interval never runs two at once (sync or async)."""
        probes = [Probe(), Probe()]
        planner = self.get_planner([
            self.link(probes[0], sleep=2.5 * self.interval, name="sync"),
            self.link(probes[1], sleep=2.5 * self.interval, async_inlet=True, name="async"),
        ])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: min(p.count for p in probes) >= 3), "the links did not transfer")
        for name, probe in zip(("sync", "async"), probes):
            self.assertEqual(probe.max_active, 1, f"{name}: transfers of one link overlapped")

    def test_due_times_missed_while_transferring_are_skipped(self) -> None:
        """After a transfer that overran two due times, the next starts at the link's next
        ideal time (anchor + k x interval): the missed due times are skipped, not queued."""
        interval = 2 * self.interval
        probe = Probe()
        planner = self.get_planner([self.link(probe, interval, async_inlet=True, sleep={1: 2.5 * interval})])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count >= 5), "the link did not transfer")
        offsets = [(t - probe.starts[0]) / interval for t in probe.starts[:5]]
        shown = ", ".join(f"{o:.2f}" for o in offsets)
        self.assertEqual(probe.max_active, 1, "transfers overlapped")
        gaps = [b - a for a, b in zip(offsets, offsets[1:])]
        self.assertGreaterEqual(min(gaps), 0.5, f"missed due times were run in a burst (starts at {shown} intervals)")
        # The slow second transfer (due at 1) ran until 3.5: the next is due at 4.
        self.assertAlmostEqual(offsets[2], 4, delta=0.25,
                               msg=f"not back on the ideal times after a late transfer (starts at {shown} intervals)")

    def test_due_times_missed_while_late_are_coalesced(self) -> None:
        """A planner that fell behind (here an async pull holds up the event loop for 3.3
        intervals) runs each link at most once to catch up, then at its ideal times again."""
        interval = 2 * self.interval
        blocker, probe = Probe(), Probe()
        planner = self.get_planner([
            self.link(blocker, interval, async_inlet=True, hold_loop=True, sleep={1: 3.3 * interval},
                      name="blocker"),
            self.link(probe, interval, async_inlet=True, name="late"),
        ])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(
            lambda: len(blocker.ends) >= 2 and probe.count > 0 and probe.starts[-1] > blocker.ends[1] + 2.5 * interval,
            timeout=self.timeout + 6 * interval), "the links did not transfer")
        caught_up = blocker.ends[1]
        offsets = [(t - probe.starts[0]) / interval for t in probe.starts]
        shown = ", ".join(f"{o:.2f}" for o in offsets)
        burst = [t for t in probe.starts if caught_up <= t < caught_up + interval / 2]
        self.assertLessEqual(len(burst), 1, f"missed due times were run in a burst (starts at {shown} intervals)")
        following = next(o for t, o in zip(probe.starts, offsets) if t >= caught_up + interval / 2)
        self.assertAlmostEqual(following, round(following), delta=0.25,
                               msg=f"not back on the ideal times after falling behind (starts at {shown} intervals)")

    # -- calendar schedules ----------------------------------------------------------

    def test_calendar_links_fall_due_at_their_times(self) -> None:
        """Calendar links transfer at their times on the calendar's clock and zone: a daily
        02:30, on the day clocks skip 02:00-03:00, once at 03:00; every second on the second."""
        gap_end = datetime.datetime(2024, 3, 31, 1, 0, tzinfo=datetime.UTC).timestamp()  # 03:00 there
        clock = FakeClock(gap_end - 1.5)
        daily, seconds = Probe(), Probe()
        planner = self.get_planner([
            self.calendar_link(daily, "every day at 02:30", clock, name="daily", immediate_transfer=False),
            self.calendar_link(seconds, "every second", clock, name="seconds", immediate_transfer=False),
        ])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: seconds.count >= 4 and daily.count >= 1, self.timeout + 4),
                        "the calendar links did not transfer")
        late = [clock.at(start) - gap_end for start in daily.starts]
        self.assertEqual(len(late), 1, f"the daily link transferred {len(late)} times in 4 s")
        self.assertTrue(-0.01 <= late[0] <= self.calendar_tolerance,
                        f"the daily 02:30 transferred {late[0]:+.3f} s from the end of the skipped hour, 03:00")
        fractions = [clock.at(start) % 1.0 for start in seconds.starts]
        shown = ", ".join(f"{clock.at(start) - gap_end:+.3f}" for start in seconds.starts)
        self.assertTrue(all(f <= self.calendar_tolerance or f >= 0.99 for f in fractions),
                        f"'every second' did not transfer on whole seconds (at {shown} s from 03:00)")
        self.assertEqual(len({round(clock.at(start)) for start in seconds.starts}), seconds.count,
                         f"'every second' transferred twice in one second (at {shown} s from 03:00)")

    def test_calendar_immediate_transfer(self) -> None:
        """A calendar link transfers at once on start when the planner and the link say so,
        else first at its next time."""
        clock = FakeClock(datetime.datetime(2024, 6, 1, 4, 0, tzinfo=datetime.UTC))
        immediate, disabled, planner_disabled = Probe(), Probe(), Probe()
        planners = [
            self.get_planner([self.calendar_link(immediate, "every day at 12:00", clock, name="immediate"),
                              self.calendar_link(disabled, "every day at 12:00", clock, name="disabled",
                                                 immediate_transfer=False)]),
            self.get_planner([self.calendar_link(planner_disabled, "every day at 12:00", clock)],
                             immediate_transfer=False),
        ]
        for planner in planners:
            self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: immediate.count == 1), "no immediate transfer of a calendar link")
        time.sleep(max(0.5, 5 * self.interval))
        self.assertEqual(immediate.count, 1, "a calendar link transferred again before its time")
        self.assertEqual(disabled.count, 0, "a calendar link with immediate_transfer=False transferred at once")
        self.assertEqual(planner_disabled.count, 0, "a calendar link transferred at once although the planner's "
                                                    "immediate_transfer=False")

    def test_calendar_times_missed_while_transferring_are_skipped(self) -> None:
        """A calendar link whose transfer outlasts two of its times skips them: never two at
        once, no burst, and it transfers again at its next time."""
        clock = FakeClock(round(time.time()) + 0.5)
        probe = Probe()
        planner = self.get_planner([self.calendar_link(probe, "every second", clock, sleep={1: 2.5},
                                                       immediate_transfer=False)])
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: probe.count >= 4, self.timeout + 5), "the link did not transfer")
        starts = [clock.at(start) for start in probe.starts[:4]]
        shown = ", ".join(f"{start - starts[0]:.2f}" for start in starts)
        self.assertEqual(probe.max_active, 1, "transfers of a calendar link overlapped")
        self.assertGreaterEqual(min(b - a for a, b in zip(starts, starts[1:])), 0.5,
                                f"missed times were run in a burst (starts at {shown} s)")
        # Due at 0, 1, 2, 3, 4 s; the one at 1 s runs until 3.5 s: 2 and 3 are skipped.
        self.assertAlmostEqual(starts[2] - starts[0], 4, delta=self.calendar_tolerance,
                               msg=f"missed times were not skipped, or run in a burst (starts at {shown} s)")

    # -- sync and async nodes ------------------------------------------------------

    def test_sync_and_async_nodes(self) -> None:
        """Sync and async nodes transfer; a slow sync pull doesn't hold up other links; async
        pulls all run on one event loop, sync ones elsewhere."""
        slow, quick = Probe(), Probe()
        links = [
            self.link(slow, 60, sleep=6 * self.interval, name="slow_sync"),
            self.link(quick, async_inlet=True, name="async_in"),
            self.link(quick, async_outlet=True, name="async_out"),
            self.link(quick, async_inlet=True, async_outlet=True, name="async_both"),
        ]
        planner = self.get_planner(links)
        self.start_planner(planner)
        self.assertTrue(self.wait_for(lambda: slow.count == 1 and slow.active == 0), "the slow pull never ran")
        began, ended = slow.starts[0], slow.ends[0]
        during = sum(began < started < ended for started in quick.starts)
        self.assertGreaterEqual(during, 6, "a slow sync pull held up the other links")
        for link in links[1:]:
            payloads = _probe_outlet(link).payloads
            self.assertGreaterEqual(len(payloads), 2, f"{link.tags[0]}: records were not delivered")
            self.assertEqual(payloads, list(range(len(payloads))), f"{link.tags[0]}: records lost or reordered")
        self.assertEqual(len(set(quick.loops)), 1, "async pulls ran on more than one event loop")
        self.assertNotIn(slow.threads[0], quick.loop_threads, "a sync pull ran on the event loop's thread")
