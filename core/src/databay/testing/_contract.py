"""Helpers shared by the conformance testers and databay's pytest fixtures."""

from __future__ import annotations

import functools
import threading
import time
import unittest
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from databay.inlet import Inlet
from databay.outlet import Outlet
from databay.printable import safe_repr
from databay.record import Record

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner
    from databay.link import Link
    from databay.transfer import TransferStats


def for_each(getter: str, attribute: str) -> Callable[[Callable], Callable]:
    """Run a test once per component returned by ``self.<getter>()``, as ``self.<attribute>``
    (in a subtest labelled ``<attribute>=repr(component)``)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            made = getattr(self, getter)()
            for component in made if isinstance(made, list) else [made]:
                with self.subTest(**{attribute: safe_repr(component)}):
                    setattr(self, attribute, component)
                    fn(self, *args, **kwargs)

        return wrapper

    return decorate


class ListInlet(Inlet):
    """An inlet producing the given records on every pull (used to feed outlets under test)."""

    def __init__(self, records: list[Record]):
        super().__init__()
        self.records = records

    def pull(self, update):
        return list(self.records)


class Collector(Outlet):
    """An outlet keeping every record pushed to it (used to receive what inlets under test produce)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def push(self, records, update):
        self.records.extend(records)


class Counter:
    """Counts calls of a node's lifecycle callbacks without changing what they do."""

    def __init__(self, node: Any):
        self.starts = 0
        self.shutdowns = 0
        original_start, original_shutdown = node.on_start, node.on_shutdown

        def on_start(*args: Any, **kwargs: Any) -> Any:
            self.starts += 1
            return original_start(*args, **kwargs)

        def on_shutdown(*args: Any, **kwargs: Any) -> Any:
            self.shutdowns += 1
            return original_shutdown(*args, **kwargs)

        node.on_start, node.on_shutdown = on_start, on_shutdown


def transfer(link: Link, times: int = 1) -> TransferStats:
    """Start ``link``'s nodes, transfer ``times`` times and shut them down; the last transfer's stats."""
    if times < 1:
        raise ValueError(f"times must be at least 1, not {times}")
    link.on_start()
    try:
        for _ in range(times):
            stats = link.transfer()
    finally:
        link.on_shutdown()
    return stats


def wait_until(condition: Callable[[], object], timeout: float = 10.0, every: float = 0.005) -> bool:
    """Poll ``condition`` every ``every`` seconds until it is true (``True``) or ``timeout``
    seconds passed (``False``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())


class PlannerThread(threading.Thread):
    """A daemon thread running ``planner.start()``; :attr:`errors` gets whatever it raised."""

    def __init__(self, planner: BasePlanner, name: str):
        super().__init__(name=name, daemon=True)
        self.planner = planner
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            self.planner.start()
        except BaseException as exc:  # noqa: BLE001 - reported through thread.errors
            self.errors.append(exc)


def assert_started_and_shut_down_once(test: unittest.TestCase, node: Inlet | Outlet) -> None:
    """Starting and shutting ``node`` down twice each runs ``on_start``/``on_shutdown`` once
    each, and ``active`` follows them."""
    counter = Counter(node)
    node.try_start()
    node.try_start()
    test.assertTrue(node.active)
    node.try_shutdown()
    node.try_shutdown()
    test.assertFalse(node.active)
    test.assertEqual((counter.starts, counter.shutdowns), (1, 1))


def assert_initialised(test: unittest.TestCase, node: Inlet | Outlet, base: type[Inlet] | type[Outlet],
                       attribute: str, attribute_type: type) -> None:
    """``node`` is a ``base`` whose ``__init__`` ran (it sets ``attribute``, an ``attribute_type``)
    and is not active while new."""
    test.assertIsInstance(node, base)
    test.assertIsInstance(getattr(node, attribute, None), attribute_type,
                          f"{base.__name__}.__init__ was not called: call super().__init__(*args, **kwargs)")
    test.assertFalse(node.active, f"a new {base.__name__.lower()} must not be active before on_start")


def assert_accepts(test: unittest.TestCase, node: Inlet | Outlet, parameter: str) -> None:
    """``node``'s constructor takes ``parameter`` (directly, or through ``**kwargs`` to its base)."""
    from databay.introspect import constructor_parameters

    params, _ = constructor_parameters(type(node))
    test.assertIn(parameter, [p.name for p in params],
                  f"{type(node).__name__}() does not accept {parameter!r}: add **kwargs and pass "
                  "them to super().__init__(**kwargs)")


def assert_no_threads_left(test: unittest.TestCase, node: Inlet | Outlet, work: Callable[[], object],
                           grace: float) -> None:
    """Start ``node``, ``work()`` with it and shut it down: no thread started meanwhile may
    still run ``grace`` seconds later.

    databay's own pools (threads named ``databay-...``) live for the whole process and
    are not counted.
    """
    before = set(threading.enumerate())
    node.try_start()
    try:
        work()
    finally:
        node.try_shutdown()
    deadline = time.monotonic() + grace
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not t.name.startswith("databay-")]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    kind = "inlet" if isinstance(node, Inlet) else "outlet"
    test.assertEqual(left, [], f"threads started by the {kind} still run after on_shutdown: "
                               "stop and join them in on_shutdown")


def assert_failure_raised(test: unittest.TestCase, node: Inlet | Outlet, work: Callable[[], object]) -> None:
    """Starting ``node`` (configured to fail) and ``work()`` with it raise an Exception with a message."""
    with test.assertRaises(Exception) as caught:
        node.try_start()
        try:
            work()
        finally:
            try:
                node.try_shutdown()
            except Exception:
                pass  # the error that counts is the first one
    test.assertTrue(str(caught.exception), "the error must say what went wrong")


def transfer_under_planner(test: unittest.TestCase, inlet: Inlet, outlet: Outlet) -> int:
    """Let a :class:`SchedulePlanner` start a link ``inlet -> outlet``, transfer it once on
    its own loop (the immediate transfer) and shut down; return how many records it pulled.

    Fails ``test`` if the planner logs an error (a node failing to start on the loop, a
    failed transfer), never transfers, or does not stop.
    """
    from databay.link import Link
    from databay.planners.schedule_planner import SchedulePlanner

    transferred = threading.Event()
    pulled: list[int] = []

    def note(records: list[Record]) -> list[Record]:
        pulled.append(len(records))
        transferred.set()
        return records

    planner = SchedulePlanner(Link(inlet, outlet, interval=3600, tags="conformance", processors=[note]))
    with test.assertNoLogs("databay", level="ERROR"):
        thread = PlannerThread(planner, name="conformance-planner")
        thread.start()
        wait_until(lambda: transferred.is_set() or not thread.is_alive(), 30)
        planner.shutdown(wait=True)  # lets the transfer in flight finish
        thread.join(30)
    test.assertFalse(thread.is_alive(), "the planner did not shut down")
    test.assertEqual(thread.errors, [], "the planner's start() raised")
    test.assertTrue(transferred.is_set(), "the planner never transferred the link")
    return pulled[0]
