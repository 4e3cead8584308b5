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
from databay.record import Record

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner


def safe_repr(node: Any) -> str:
    """``repr(node)``, or its class name when its ``__repr__`` fails (e.g. no ``super().__init__()``)."""
    try:
        return repr(node)
    except Exception:
        return f"<{type(node).__name__}>"


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


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it is true (``True``) or ``timeout`` seconds passed (``False``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
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


def threads_started_since(before: set[threading.Thread], grace: float) -> list[threading.Thread]:
    """Threads started after ``before`` was taken that are still alive after up to ``grace`` seconds.

    databay's own pools (threads named ``databay-...``) live for the whole process and
    are not counted.
    """
    deadline = time.monotonic() + grace
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not t.name.startswith("databay-")]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.01)


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
        deadline = time.monotonic() + 30
        while not transferred.wait(0.01) and thread.is_alive() and time.monotonic() < deadline:
            pass
        planner.shutdown(wait=True)  # lets the transfer in flight finish
        thread.join(30)
    test.assertFalse(thread.is_alive(), "the planner did not shut down")
    test.assertEqual(thread.errors, [], "the planner's start() raised")
    test.assertTrue(transferred.is_set(), "the planner never transferred the link")
    return pulled[0]
