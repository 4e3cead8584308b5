"""The conformance kit's :class:`InletTester`.

It runs the tests of databay 0.3's :class:`databay.misc.inlet_tester.InletTester` (which
stays importable, with the same tests) and adds the rest of the inlet contract.
"""

from __future__ import annotations

from databay.inlet import Inlet
from databay.link import Link
from databay.misc.inlet_tester import InletTester as CompatibleInletTester
from databay.misc.inlet_tester import for_each_inlet
from databay.testing._contract import (
    Collector,
    Counter,
    assert_accepts,
    assert_failure_raised,
    assert_initialised,
    assert_no_threads_left,
    assert_started_and_shut_down_once,
    transfer,
    transfer_under_planner,
)


class InletTester(CompatibleInletTester):
    """Base class whose tests check that an :class:`Inlet` honours databay's contract.

    Subclass it and implement :meth:`get_inlet` (an inlet or a list of inlets), and
    optionally :meth:`get_failing_inlet`. On top of databay 0.3's checks (records, global
    and local metadata, neither reading nor changing metadata, pulling data rather than
    coroutines or generators), it checks that:

    - the inlet was initialised through ``super().__init__()`` and is inactive when new;
    - its constructor accepts ``metadata`` (pipelines pass the global metadata that way);
    - ``on_start``/``on_shutdown`` run once per start/shutdown and ``active`` follows them;
    - a pull's records carry the inlet's global metadata and ``__inlet__``;
    - it works in a ``Link`` transfer and under a running planner (sync or async pull);
    - no thread it started is still running once ``on_shutdown`` returned;
    - a failing configuration raises an ``Exception`` with a message, never swallows it.
    """

    __test__ = False

    thread_grace: float = 2.0
    """Seconds a thread the inlet started may take to end after ``on_shutdown`` returned."""

    def get_failing_inlet(self) -> Inlet | None:
        """Optionally return an inlet configured to fail (a missing file, an unreachable server)."""
        return None

    @for_each_inlet
    def test_is_initialised_inlet(self) -> None:
        """It is an Inlet and called ``super().__init__()``."""
        assert_initialised(self, self.inlet, Inlet, "_metadata", dict)

    @for_each_inlet
    def test_start_and_shutdown_once(self) -> None:
        """try_start/try_shutdown run on_start/on_shutdown once each and set ``active``."""
        assert_started_and_shut_down_once(self, self.inlet)

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
        collector = Collector()
        stats = transfer(Link(self.inlet, collector, interval=1, tags="InletTester"))
        self.assertEqual(stats.records_pulled, len(collector.records))
        self.assertEqual(stats.records_pushed, len(collector.records))

    @for_each_inlet
    def test_in_a_planner(self) -> None:
        """Under a running planner the inlet starts once, produces on the planner's loop and shuts down once."""
        counter = Counter(self.inlet)
        collector = Collector()
        pulled = transfer_under_planner(self, self.inlet, collector)
        self.assertEqual(pulled, len(collector.records))
        self.assertEqual((counter.starts, counter.shutdowns), (1, 1))

    @for_each_inlet
    def test_accepts_metadata(self) -> None:
        """The constructor takes ``metadata`` (directly, or through ``**kwargs`` to ``Inlet``)."""
        assert_accepts(self, self.inlet, "metadata")

    @for_each_inlet
    def test_shutdown_stops_threads(self) -> None:
        """Threads the inlet starts (during start or pulls) have ended when ``on_shutdown`` returns."""
        assert_no_threads_left(self, self.inlet, self._pull, self.thread_grace)

    def test_failure_is_raised(self) -> None:
        """A failing configuration raises an Exception with a message."""
        inlet = self.get_failing_inlet()
        if inlet is None:
            self.skipTest("get_failing_inlet() gives no failing configuration")
        self.inlet = inlet
        assert_failure_raised(self, inlet, self._pull)
