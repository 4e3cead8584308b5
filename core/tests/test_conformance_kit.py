"""The conformance kit cannot pass vacuously: each tester fails on components breaking one rule.

Every broken component below breaks one rule of the contract; its tester is run
programmatically and must fail exactly the tests of that rule (with a message saying
what is wrong), while well-behaved sync and async components pass every test.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
import time
import unittest
from typing import Any

import pytest
from databay import Inlet, Outlet, Record
from databay.outlet import MetadataKey
from databay.testing import InletTester, OutletTester

# Broken components leave coroutines unawaited, exactly as a real transfer would.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")

# -- running a tester -------------------------------------------------------------


def outcome(tester: type[unittest.TestCase]) -> tuple[dict[str, str], int]:
    """``({failed or erroring test name: its report}, tests run)`` for a tester class."""
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(tester).run(result)
    failed: dict[str, str] = {}
    for test, report in result.failures + result.errors:
        case = getattr(test, "test_case", test)  # a failed subTest reports its test case here
        failed.setdefault(case._testMethodName, report)
    return failed, result.testsRun


def outlet_tester(make: type[Outlet] | Any, failing: Any = None, read_back: Any = None) -> type[OutletTester]:
    attrs: dict[str, Any] = {"get_outlet": lambda self: make(), "thread_grace": 0.3}
    if failing is not None:
        attrs["get_failing_outlet"] = lambda self: failing()
    if read_back is not None:
        attrs["read_back"] = lambda self, outlet: read_back(outlet)
    return type(f"Test{getattr(make, '__name__', 'Outlet')}", (OutletTester,), attrs)


def inlet_tester(make: type[Inlet] | Any, failing: Any = None) -> type[InletTester]:
    attrs: dict[str, Any] = {"get_inlet": lambda self: make(), "thread_grace": 0.3}
    if failing is not None:
        attrs["get_failing_inlet"] = lambda self: failing()
    return type(f"Test{getattr(make, '__name__', 'Inlet')}", (InletTester,), attrs)


# -- outlets ----------------------------------------------------------------------


class ListOutlet(Outlet):
    """A well-behaved outlet: keeps the payloads it receives; fails when told to."""

    DESTINATION: MetadataKey = "ListOutlet.DESTINATION"

    def __init__(self, fail: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fail = fail
        self.delivered: list[Any] = []

    def push(self, records, update):
        if self.fail:
            raise ConnectionError("the destination refused the records")
        self.delivered.extend(r.payload for r in records)


class AsyncListOutlet(ListOutlet):
    """The same, with an ``async def`` push and ``on_start``."""

    async def on_start(self):
        await asyncio.sleep(0)

    async def push(self, records, update):
        await asyncio.sleep(0)
        ListOutlet.push(self, records, update)


def _read_back(outlet):
    return list(outlet.delivered)


def _failing_list_outlet():
    return ListOutlet(fail=True)


@pytest.mark.parametrize("good", [ListOutlet, AsyncListOutlet])
def test_outlet_tester_passes_a_good_outlet(good):
    failed, run = outcome(outlet_tester(good, failing=_failing_list_outlet, read_back=_read_back))
    assert failed == {}
    assert run == len([n for n in dir(OutletTester) if n.startswith("test_")])


class NoSuperInit(ListOutlet):
    def __init__(self):
        self.delivered = []


class MutatesRecords(ListOutlet):
    def push(self, records, update):
        for record in records:
            record.payload["pushed"] = True
        super().push(records, update)


class IgnoresProcessors(ListOutlet):
    def _process(self, records):
        return records


class ReconnectsOnPush(ListOutlet):
    """Calls on_start again from push: started twice under a planner."""

    def on_start(self):
        self.connected = True

    def push(self, records, update):
        self.on_start()
        super().push(records, update)


class SwallowsErrors(ListOutlet):
    def push(self, records, update):
        try:
            super().push(records, update)
        except Exception:
            pass  # "logged" and forgotten: the records are lost and nobody knows


class ReturnsCoroutine(ListOutlet):
    """A plain ``def`` handing back a coroutine: a transfer would never await it."""

    def push(self, records, update):
        return self._write(records)

    async def _write(self, records):
        self.delivered.extend(r.payload for r in records)


class NeedsMetadata(ListOutlet):
    def push(self, records, update):
        for record in records:
            record.metadata[self.DESTINATION]  # noqa: B018 - a record without it raises KeyError
        super().push(records, update)


class FailsOnEmpty(ListOutlet):
    def push(self, records, update):
        self.delivered.append(records[0].payload)


class UnprefixedMetadataKey(ListOutlet):
    TABLE: MetadataKey = "table"


class FlushesTooLate(ListOutlet):
    """Writes in a background thread and lets on_shutdown return before it has written."""

    def push(self, records, update):
        payloads = [r.payload for r in records]

        def write_later():
            time.sleep(0.2)
            self.delivered.extend(payloads)

        threading.Thread(target=write_later, daemon=True).start()


class LeaksWriterThread(ListOutlet):
    """Starts a writer thread in on_start and never stops it."""

    def on_start(self):
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._write, daemon=True).start()

    def _write(self):
        while True:
            self.delivered.extend(self.queue.get())

    def push(self, records, update):
        self.delivered.extend(r.payload for r in records)


def _forgetful_read_back(outlet):
    """Gives the payloads once, then ``None``."""
    first = not getattr(outlet, "read_before", False)
    outlet.read_before = True
    return list(outlet.delivered) if first else None


def test_outlet_tester_fails_a_read_back_that_stops_answering():
    failed, _ = outcome(outlet_tester(ListOutlet, read_back=_forgetful_read_back))
    assert set(failed) == {"test_delivers_every_record", "test_in_a_planner"}
    for report in failed.values():
        assert "AssertionError: read_back() returned None after it had returned a list" in report


def test_outlet_tester_skips_what_it_is_not_given():
    failed, _ = outcome(outlet_tester(ListOutlet))
    assert failed == {}
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(outlet_tester(ListOutlet)).run(result)
    skipped = {getattr(t, "test_case", t)._testMethodName for t, _ in result.skipped}
    assert skipped == {"test_failure_is_raised", "test_delivers_every_record"}


# -- inlets -----------------------------------------------------------------------


class CountingInlet(Inlet):
    """A well-behaved inlet: three numbered payloads per pull; fails when told to."""

    def __init__(self, fail: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fail = fail
        self.pulls = 0

    def pull(self, update):
        if self.fail:
            raise ConnectionError("the source is unreachable")
        self.pulls += 1
        return [{"pull": self.pulls, "n": n} for n in range(3)]


class AsyncCountingInlet(CountingInlet):
    async def on_shutdown(self):
        await asyncio.sleep(0)

    async def pull(self, update):
        await asyncio.sleep(0)
        return CountingInlet.pull(self, update)


def _failing_counting_inlet():
    return CountingInlet(fail=True)


@pytest.mark.parametrize("good", [CountingInlet, AsyncCountingInlet])
def test_inlet_tester_passes_a_good_inlet(good):
    failed, run = outcome(inlet_tester(good, failing=_failing_counting_inlet))
    assert failed == {}
    assert run == len([n for n in dir(InletTester) if n.startswith("test_")])


class InletNoSuperInit(CountingInlet):
    def __init__(self):
        self.fail, self.pulls = False, 0


class ReadsMetadata(CountingInlet):
    def pull(self, update):
        if "CountingInlet.SKIP" in self.metadata:
            return []
        return super().pull(update)


class ChangesMetadata(CountingInlet):
    def pull(self, update):
        self.metadata.update(last_pull=time.time())
        return super().pull(update)


class BuildsBareRecords(CountingInlet):
    def pull(self, update):
        return [Record(payload) for payload in super().pull(update)]


class InletReturnsCoroutine(CountingInlet):
    def pull(self, update):
        return self._fetch()

    async def _fetch(self):
        return [1, 2, 3]


class ReturnsGenerator(CountingInlet):
    def pull(self, update):
        return (payload for payload in super().pull(update))


class SwallowingInlet(CountingInlet):
    def pull(self, update):
        try:
            return super().pull(update)
        except Exception:
            return []


class PrefetchesForever(CountingInlet):
    """Starts a prefetching thread in on_start and never stops it."""

    def on_start(self):
        self.stop = threading.Event()
        threading.Thread(target=self.stop.wait, daemon=True).start()


# -- flaws of inlets and outlets alike, each mixed into a good one of both ---------


class TakesNoArguments:
    """A constructor taking no arguments: neither ``processors`` nor ``metadata``."""

    def __init__(self):
        super().__init__()


class UnguardedStart:
    """Replaces try_start/try_shutdown: on_start runs on every start."""

    def try_start(self):
        self._active = True
        self.on_start()

    def try_shutdown(self):
        self._active = False
        self.on_shutdown()


class AsyncioRunInOnStart:
    """Fine on its own, but cannot start on a planner's event loop."""

    def on_start(self):
        connecting = asyncio.sleep(0)
        try:
            asyncio.run(connecting)  # raises on a running loop, before running it
        finally:
            connecting.close()


def flawed(good: type, flaw: type) -> type:
    """``good`` (a well-behaved inlet or outlet class) with ``flaw`` mixed in."""
    return type(f"{flaw.__name__}{good.__name__}", (flaw, good), {})


# -- each broken component fails the test of the rule it breaks -------------------

BROKEN = [
    # (broken component, the test of the rule it breaks, what that test reports)
    (NoSuperInit, "test_is_initialised_outlet", "Outlet.__init__ was not called"),
    (MutatesRecords, "test_records_unchanged", "push modified the records"),
    (IgnoresProcessors, "test_processors_applied", "processors were not applied"),
    (flawed(ListOutlet, TakesNoArguments), "test_accepts_processors", "does not accept 'processors'"),
    (ReconnectsOnPush, "test_in_a_planner", "(2, 1) != (1, 1)"),
    (flawed(ListOutlet, UnguardedStart), "test_start_and_shutdown_once", "(2, 2) != (1, 1)"),
    (SwallowsErrors, "test_failure_is_raised", "Exception not raised"),
    (ReturnsCoroutine, "test_push", "Declare it 'async def'"),
    (NeedsMetadata, "test_push_without_metadata", "KeyError"),
    (FailsOnEmpty, "test_push_empty", "IndexError"),
    (UnprefixedMetadataKey, "test_metadata_keys_namespaced", "should be namespaced"),
    (FlushesTooLate, "test_delivers_every_record", "does not give exactly the records pushed"),
    (LeaksWriterThread, "test_shutdown_stops_threads", "still run after on_shutdown"),
    (flawed(ListOutlet, AsyncioRunInOnStart), "test_in_a_planner",
     "asyncio.run() cannot be called from a running event loop"),
    (InletNoSuperInit, "test_is_initialised_inlet", "Inlet.__init__ was not called"),
    (ReadsMetadata, "test_dont_read_metadata", "the inlet read metadata key 'CountingInlet.SKIP'"),
    (ChangesMetadata, "test_dont_read_metadata", "the inlet changed its metadata"),
    (BuildsBareRecords, "test_records_carry_global_metadata", "None != 'value'"),
    (InletReturnsCoroutine, "test_pull", "a plain 'def' cannot return one"),
    (ReturnsGenerator, "test_pull", "a generator"),
    (flawed(CountingInlet, TakesNoArguments), "test_accepts_metadata", "does not accept 'metadata'"),
    (SwallowingInlet, "test_failure_is_raised", "Exception not raised"),
    (PrefetchesForever, "test_shutdown_stops_threads", "still run after on_shutdown"),
    (flawed(CountingInlet, UnguardedStart), "test_start_and_shutdown_once", "(2, 2) != (1, 1)"),
    (flawed(CountingInlet, AsyncioRunInOnStart), "test_in_a_planner",
     "asyncio.run() cannot be called from a running event loop"),
]

# The tests that may fail too, because they use what the broken component breaks (not
# checked for the components that skip __init__: nothing works without it).
OUTLET_COLLATERAL = {"test_push", "test_push_empty", "test_push_without_metadata", "test_records_unchanged",
                     "test_delivers_every_record", "test_shutdown_stops_threads", "test_processors_applied",
                     "test_in_a_planner"}
INLET_COLLATERAL = {"test_pull", "test_records_carry_global_metadata", "test_dont_read_metadata",
                    "test_in_a_link", "test_in_a_planner", "test_shutdown_stops_threads"}


@pytest.mark.parametrize(
    "broken, expected, message", BROKEN, ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_tester_fails_a_broken_component(broken, expected, message):
    # The failing configuration is the good component's, but a swallowing one must fail itself.
    swallows = broken in (SwallowsErrors, SwallowingInlet)
    if issubclass(broken, Outlet):
        failing = functools.partial(broken, fail=True) if swallows else _failing_list_outlet
        tester, collateral = outlet_tester(broken, failing=failing, read_back=_read_back), OUTLET_COLLATERAL
    else:
        failing = functools.partial(broken, fail=True) if swallows else _failing_counting_inlet
        tester, collateral = inlet_tester(broken, failing=failing), INLET_COLLATERAL
    failed, _ = outcome(tester)
    assert expected in failed, f"{expected} passed for {broken.__name__}; failed: {sorted(failed)}"
    assert message in failed[expected]
    if broken not in (NoSuperInit, InletNoSuperInit):
        assert set(failed) - {expected} <= collateral, sorted(failed)
