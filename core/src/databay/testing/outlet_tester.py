"""The :class:`OutletTester`: a ``unittest.TestCase`` checking an outlet's contract."""

from __future__ import annotations

import asyncio
import copy
import inspect
import unittest
from typing import Any

from databay.link import Link
from databay.outlet import Outlet
from databay.record import Record
from databay.testing._contract import (
    Counter,
    ListInlet,
    assert_accepts,
    assert_failure_raised,
    assert_initialised,
    assert_no_threads_left,
    assert_started_and_shut_down_once,
    for_each,
    transfer,
    transfer_under_planner,
)
from databay.update import Update

for_each_outlet = for_each("get_outlet", "outlet")
"""Runs the test for each outlet returned from :meth:`OutletTester.get_outlet`."""


class OutletTester(unittest.TestCase):
    """Base class whose tests check that an :class:`Outlet` honours databay's contract.

    Subclass it and implement :meth:`get_outlet` (an outlet or a list of outlets, each
    tested). Override :meth:`get_records` when your outlet needs particular payloads,
    :meth:`read_back` to check that every record arrives, and :meth:`get_failing_outlet`
    to check that failures are raised. The rules checked:

    - it is an ``Outlet`` initialised through ``super().__init__()``;
    - its constructor accepts ``processors``, and processors given to it are applied;
    - ``push`` is ``async def`` or a plain ``def`` returning nothing (never an awaitable);
    - ``push`` accepts records, an empty list, and records without metadata;
    - ``push`` leaves the records it receives unchanged;
    - ``on_start``/``on_shutdown`` run once per start/shutdown, and ``active`` follows them;
    - with :meth:`read_back`: every pushed record has arrived when ``on_shutdown`` returns;
    - no thread it started is still running once ``on_shutdown`` returned;
    - metadata keys are namespaced by class name (``'CsvOutlet.CSV_FILE'``);
    - it works in a ``Link`` transfer and under a running planner;
    - a failing configuration raises an ``Exception`` with a message, never swallows it.
    """

    outlet: Outlet

    __test__ = False  # the base class has nothing to test; its subclasses are collected

    thread_grace: float = 2.0
    """Seconds a thread the outlet started may take to end after ``on_shutdown`` returned."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__test__ = cls.__dict__.get("__test__", True)

    def get_outlet(self) -> Outlet | list[Outlet]:
        """Implement this method to return instances of your outlet class."""
        raise NotImplementedError("Implement get_outlet() to return your outlet(s).")

    def get_records(self) -> list[Record]:
        """Records pushed by the tests. Override for outlets that need particular payloads."""
        return [
            Record({"id": 1, "name": "alpha", "value": 1.5}, {"__inlet__": "OutletTester()"}),
            Record({"id": 2, "name": "beta", "value": -2.0}, {}),
            Record({"id": 3, "name": "gamma", "value": 0.0}),
        ]

    def read_back(self, outlet: Outlet) -> list[Any] | None:
        """Optionally return the payloads ``outlet`` has delivered so far (read its file back,
        query its collection...), comparable to those of :meth:`get_records`; ``None``
        (the default) skips the delivery check."""
        return None

    def get_failing_outlet(self) -> Outlet | None:
        """Optionally return an outlet configured to fail (e.g. an unreachable server)."""
        return None

    def setUp(self) -> None:
        if type(self).get_outlet is OutletTester.get_outlet:
            self.skipTest("OutletTester itself has no outlet to test")
        self.update = Update(["OutletTester"], 0)

    # -- helpers -----------------------------------------------------------------

    def _push(self, records: list[Record]) -> None:
        started = not self.outlet.active
        if started:
            self.outlet.try_start()
        try:
            # What push returns is ignored (databay 0.3's MongoOutlet returned True or False);
            # only a plain def handing back an awaitable breaks the contract (_call_push).
            asyncio.run(_call_push(self.outlet, records, self.update))
        finally:
            if started:
                self.outlet.try_shutdown()

    def _read_back_since(self, before: list[Any]) -> list[Any]:
        """The payloads :meth:`read_back` gives now beyond the ``before`` it gave earlier."""
        delivered = self.read_back(self.outlet)
        if delivered is None:
            self.fail("read_back() returned None after it had returned a list")
        return delivered[len(before):]

    # -- the contract ------------------------------------------------------------

    @for_each_outlet
    def test_is_initialised_outlet(self) -> None:
        """It is an Outlet and called ``super().__init__()``."""
        assert_initialised(self, self.outlet, Outlet, "processors", list)

    @for_each_outlet
    def test_accepts_processors(self) -> None:
        """The constructor takes ``processors`` (directly, or through ``**kwargs`` to ``Outlet``)."""
        assert_accepts(self, self.outlet, "processors")

    @for_each_outlet
    def test_push(self) -> None:
        """Pushing records works."""
        self._push(self.get_records())

    @for_each_outlet
    def test_push_empty(self) -> None:
        """Pushing an empty list works."""
        self._push([])

    @for_each_outlet
    def test_push_without_metadata(self) -> None:
        """Records without any metadata are pushed (metadata must have defaults)."""
        self._push([Record(r.payload) for r in self.get_records()])

    @for_each_outlet
    def test_records_unchanged(self) -> None:
        """Push leaves the payloads and metadata of its records as they were."""
        records = self.get_records()
        before = [(copy.deepcopy(r.payload), copy.deepcopy(r.metadata)) for r in records]
        self._push(records)
        after = [(r.payload, r.metadata) for r in records]
        self.assertEqual(after, before, "push modified the records it received")

    @for_each_outlet
    def test_processors_applied(self) -> None:
        """Outlet processors see the records before push."""
        seen: list[list[Record]] = []

        def spy(records: list[Record]) -> list[Record]:
            seen.append(list(records))
            return records

        original = list(self.outlet.processors)
        self.outlet.processors = [*original, spy]
        try:
            records = self.get_records()
            transfer(Link(ListInlet(records), self.outlet, interval=1, copy_records=False))
        finally:
            self.outlet.processors = original
        self.assertEqual(len(seen), 1, "the outlet's processors were not applied exactly once")
        self.assertEqual([r.payload for r in seen[0]], [r.payload for r in records])

    @for_each_outlet
    def test_start_and_shutdown_once(self) -> None:
        """try_start/try_shutdown run on_start/on_shutdown once each and set ``active``."""
        assert_started_and_shut_down_once(self, self.outlet)

    @for_each_outlet
    def test_delivers_every_record(self) -> None:
        """Every pushed record has been delivered once ``on_shutdown`` returns (with :meth:`read_back`)."""
        before = self.read_back(self.outlet)
        if before is None:
            self.skipTest("read_back() is not implemented")
        records = self.get_records()
        self._push(records)
        self.assertCountEqual(self._read_back_since(before), [r.payload for r in records],
                              "after on_shutdown, read_back() does not give exactly the records pushed")

    @for_each_outlet
    def test_shutdown_stops_threads(self) -> None:
        """Threads the outlet starts (during start or pushes) have ended when ``on_shutdown`` returns."""
        assert_no_threads_left(self, self.outlet, lambda: self._push(self.get_records()), self.thread_grace)

    @for_each_outlet
    def test_metadata_keys_namespaced(self) -> None:
        """Metadata keys (``MetadataKey`` attributes) contain the outlet's class name."""
        cls = type(self.outlet)
        names = {c.__name__ for c in inspect.getmro(cls)}
        for owner in inspect.getmro(cls):
            for attr, annotation in vars(owner).get("__annotations__", {}).items():
                if "MetadataKey" not in str(annotation):
                    continue
                value = getattr(cls, attr, None)
                if not isinstance(value, str):
                    self.fail(f"metadata key {attr} must be a string, found {value!r}")
                prefix = value.split(".", 1)[0]
                self.assertTrue("." in value and prefix in names,
                                f"metadata key {attr}={value!r} should be namespaced: '{cls.__name__}.{attr}'")

    @for_each_outlet
    def test_in_a_planner(self) -> None:
        """Under a running planner the outlet starts once, receives the records on the planner's
        loop and shuts down once."""
        counter = Counter(self.outlet)
        records = self.get_records()
        before = self.read_back(self.outlet)
        pulled = transfer_under_planner(self, ListInlet(records), self.outlet)
        self.assertEqual(pulled, len(records))
        self.assertEqual((counter.starts, counter.shutdowns), (1, 1))
        if before is not None:
            self.assertCountEqual(self._read_back_since(before), [r.payload for r in records],
                                  "after the planner shut down, read_back() does not give the records pushed")

    def test_failure_is_raised(self) -> None:
        """A failing configuration raises an Exception with a message."""
        outlet = self.get_failing_outlet()
        if outlet is None:
            self.skipTest("get_failing_outlet() gives no failing configuration")
        assert_failure_raised(self, outlet, lambda: asyncio.run(_call_push(outlet, self.get_records(), self.update)))


async def _call_push(outlet: Outlet, records: list[Record], update: Update) -> Any:
    """Process and push ``records`` as a transfer does (awaiting only an ``async def`` push)."""
    records = outlet._process(records)
    result: object = outlet.push(records, update)  # checked: an outlet may break push's contract
    if inspect.isawaitable(result):
        if not outlet._uses_coroutine:
            if inspect.iscoroutine(result):
                result.close()  # never awaited, like in a transfer; close it without a warning
            raise AssertionError(
                f"{type(outlet).__name__}.push is a plain 'def' returning an awaitable: a transfer never "
                "awaits it, so its records would be lost. Declare it 'async def'.")
        result = await result
    return result
