"""The conformance kit's :class:`InletTester`.

It runs the tests of databay 0.3's :class:`databay.misc.inlet_tester.InletTester` (which
stays importable and unchanged) and adds the rest of the inlet contract.
"""

from __future__ import annotations

import threading

from databay.inlet import Inlet
from databay.link import Link
from databay.misc.inlet_tester import InletTester as CompatibleInletTester
from databay.misc.inlet_tester import for_each_inlet
from databay.outlet import Outlet
from databay.record import Record
from databay.testing._contract import Counter


class _Collector(Outlet):
    """Keeps every record pushed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def push(self, records, update):
        self.records.extend(records)


class InletTester(CompatibleInletTester):
    """Base class whose tests check that an :class:`Inlet` honours databay's contract.

    Subclass it and implement :meth:`get_inlet` (an inlet or a list of inlets). On top of
    databay 0.3's checks (records, global and local metadata, not reading metadata,
    pulling), it checks that:

    - the inlet was initialised through ``super().__init__()`` and is inactive when new;
    - ``on_start``/``on_shutdown`` run once per start/shutdown and ``active`` follows them;
    - a pull's records carry the inlet's global metadata and ``__inlet__``;
    - it works in a ``Link`` transfer and under a running planner (sync or async pull).
    """

    __test__ = False

    @for_each_inlet
    def test_is_initialised_inlet(self) -> None:
        """It is an Inlet and called ``super().__init__()``."""
        self.assertIsInstance(self.inlet, Inlet)
        self.assertIsInstance(getattr(self.inlet, "_metadata", None), dict,
                              "Inlet.__init__ was not called: call super().__init__(*args, **kwargs)")
        self.assertFalse(self.inlet.active, "a new inlet must not be active before on_start")

    @for_each_inlet
    def test_start_and_shutdown_once(self) -> None:
        """try_start/try_shutdown run on_start/on_shutdown once each and set ``active``."""
        counter = Counter(self.inlet)
        self.inlet.try_start()
        self.inlet.try_start()
        self.assertTrue(self.inlet.active)
        self.inlet.try_shutdown()
        self.inlet.try_shutdown()
        self.assertFalse(self.inlet.active)
        self.assertEqual((counter.starts, counter.shutdowns), (1, 1))

    @for_each_inlet
    def test_records_carry_global_metadata(self) -> None:
        """Records produced by a pull carry the global metadata and ``__inlet__``."""
        self.inlet.metadata["InletTester.KEY"] = "value"
        try:
            expected_inlet = repr(self.inlet)
            records = self._pull_started()
        finally:
            self.inlet.metadata.pop("InletTester.KEY", None)
        for record in records:
            self.assertEqual(record.metadata.get("InletTester.KEY"), "value")
            self.assertEqual(record.metadata.get("__inlet__"), expected_inlet)

    @for_each_inlet
    def test_in_a_link(self) -> None:
        """A link transfer delivers every record the inlet produced."""
        collector = _Collector()
        link = Link(self.inlet, collector, interval=1, tags="InletTester")
        link.on_start()
        try:
            stats = link.transfer()
        finally:
            link.on_shutdown()
        self.assertEqual(stats.records_pulled, len(collector.records))
        self.assertEqual(stats.records_pushed, len(collector.records))

    @for_each_inlet
    def test_in_a_planner(self) -> None:
        """Under a running planner the inlet starts once, produces and shuts down once."""
        from databay.planners.schedule_planner import SchedulePlanner

        counter = Counter(self.inlet)
        collector = _Collector()
        link = Link(self.inlet, collector, interval=60, tags="InletTester")
        planner = SchedulePlanner(link, immediate_transfer=False)
        thread = threading.Thread(target=planner.start, daemon=True)
        thread.start()
        try:
            for _ in range(3000):  # up to 30 s for the planner to come up
                if planner.running or not thread.is_alive():
                    break
                thread.join(0.01)
            self.assertTrue(planner.running, "the planner did not start")
            stats = link.transfer()  # runs on the planner's loop
        finally:
            planner.shutdown(wait=True)
            thread.join(30)
        self.assertFalse(thread.is_alive(), "the planner did not shut down")
        self.assertEqual(stats.records_pushed, len(collector.records))
        self.assertEqual((counter.starts, counter.shutdowns), (1, 1))
