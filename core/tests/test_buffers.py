"""Buffer (databay.support.buffers): controllers, flush, reset, and no record lost or duplicated."""

from __future__ import annotations

import logging
import time

from databay import Inlet, Link, Outlet, Record
from databay.support.buffers import Buffer
from hypothesis import given, settings
from hypothesis import strategies as st


def records(*payloads) -> list[Record]:
    return [Record(p) for p in payloads]


def payloads(result: list[Record]) -> list:
    return [r.payload for r in result]


def test_defaults():
    buffer = Buffer()
    assert buffer.count_threshold is None
    assert buffer.time_threshold is None
    assert buffer.custom_controllers == []
    assert buffer.on_reset is None
    assert buffer.conjugate_controllers is False
    assert buffer.flush is False
    assert buffer.records == []
    assert buffer.get_controllers() == []


def test_without_controllers_records_are_stored():
    buffer = Buffer()
    assert buffer(records(1, 2)) == []
    assert payloads(buffer.records) == [1, 2]


def test_count_threshold_example_from_the_manual():
    buffer = Buffer(count_threshold=10)
    assert buffer(records(*range(4))) == []
    assert buffer(records(*range(4, 8))) == []
    released = buffer(records(8, 9, 10))
    assert payloads(released) == list(range(11))
    assert buffer.records == []


def test_count_threshold_releases_when_exceeded():
    # As the manual and databay 0.3: released once the count exceeds the threshold.
    buffer = Buffer(count_threshold=3)
    assert buffer(records(1, 2)) == []
    assert buffer(records(3)) == []
    assert payloads(buffer(records(4))) == [1, 2, 3, 4]
    assert buffer(records(5)) == []  # counting starts again after the release


def test_time_threshold_counts_from_the_first_stored_records():
    buffer = Buffer(time_threshold=0.2)
    assert buffer(records(1)) == []
    first_stored = buffer.time_start
    assert first_stored is not None
    time.sleep(0.1)
    assert buffer(records(2)) == []
    assert buffer.time_start == first_stored
    time.sleep(0.15)
    assert payloads(buffer([])) == [1, 2]
    assert buffer.time_start is None  # reset by the release


def test_time_threshold_does_not_start_on_empty_calls():
    buffer = Buffer(time_threshold=0.05)
    assert buffer([]) == []
    time.sleep(0.1)
    assert buffer(records(1)) == []  # the clock started with this record


def test_custom_controllers_receive_the_stored_records():
    seen = []

    def big_value_controller(stored):
        seen.append(payloads(stored))
        return any(r.payload > 10000 for r in stored)

    buffer = Buffer(custom_controllers=big_value_controller)
    assert buffer.custom_controllers == [big_value_controller]
    assert buffer(records(1)) == []
    assert payloads(buffer(records(20000, 2))) == [1, 20000, 2]
    assert seen == [[1], [1, 20000, 2]]


def test_controllers_order_and_short_circuit_with_or():
    calls = []

    def custom_a(stored):
        calls.append("a")
        return False

    def custom_b(stored):
        calls.append("b")
        return True

    buffer = Buffer(count_threshold=100, time_threshold=100, custom_controllers=[custom_a, custom_b])
    controllers = buffer.get_controllers()
    assert controllers[:2] == [custom_a, custom_b]
    assert controllers[2] == buffer._count_controller and controllers[3] == buffer._time_controller
    assert payloads(buffer(records(1))) == [1]
    assert calls == ["a", "b"]  # count and time controllers were never needed


def test_or_releases_when_any_controller_agrees():
    buffer = Buffer(count_threshold=1, time_threshold=60, conjugate_controllers=False)
    assert payloads(buffer(records(1, 2))) == [1, 2]


def test_and_releases_only_when_all_controllers_agree():
    calls = []

    def never(stored):
        calls.append("never")
        return False

    buffer = Buffer(count_threshold=2, custom_controllers=never, conjugate_controllers=True)
    assert buffer(records(1, 2, 3)) == []
    assert calls == ["never"]  # AND stops at the first False

    buffer = Buffer(count_threshold=1, time_threshold=0.1, conjugate_controllers=True)
    assert buffer(records(1, 2)) == []  # count agrees, time does not yet
    time.sleep(0.15)
    assert payloads(buffer([])) == [1, 2]


def test_flush_releases_on_the_next_call_and_resets():
    buffer = Buffer(count_threshold=100)
    buffer(records(1))
    buffer.flush = True
    assert payloads(buffer(records(2))) == [1, 2]
    assert buffer.flush is False
    assert buffer(records(3)) == []


def test_reset_empties_and_calls_on_reset():
    resets = []
    buffer = Buffer(count_threshold=2, time_threshold=60, on_reset=lambda: resets.append(True))
    buffer(records(1))
    buffer.flush = True
    buffer.reset()
    assert buffer.records == [] and buffer.time_start is None and buffer.flush is False
    assert resets == [True]
    buffer(records(1, 2, 3))  # a release resets too
    assert resets == [True, True]


def test_failing_controller_is_logged_and_stores(caplog):
    def broken(stored):
        raise RuntimeError("controller broke")

    buffer = Buffer(custom_controllers=broken)
    with caplog.at_level(logging.ERROR, logger="databay.Buffer"):
        assert buffer(records(1)) == []
    assert payloads(buffer.records) == [1]
    assert len(caplog.records) == 1 and "controller broke" in caplog.text
    buffer.flush = True
    assert payloads(buffer([])) == [1]


def test_buffer_as_a_link_processor():
    class Four(Inlet):
        def pull(self, update):
            return list(range(4))

    class Collect(Outlet):
        def __init__(self):
            super().__init__()
            self.batches = []

        def push(self, records, update):
            self.batches.append((str(update), len(records)))

    outlet = Collect()
    link = Link(Four(), outlet, 1, processors=Buffer(count_threshold=10))
    for _ in range(3):
        link.transfer()
    assert outlet.batches == [("2", 12)]


def test_buffer_as_an_outlet_processor_with_flush_and_force_transfer():
    class Collect(Outlet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.received = []

        def push(self, records, update):
            self.received.append(payloads(records))

    class One(Inlet):
        def pull(self, update):
            return update.transfer_number

    buffer = Buffer(count_threshold=4000)
    outlet = Collect(processors=buffer)
    link = Link(One(), outlet, 1)
    link.transfer()
    link.transfer()
    assert outlet.received == []
    buffer.flush = True
    link.remove_inlets(link.inlets)
    link.transfer()
    assert outlet.received == [[0, 1]]


batches = st.lists(st.lists(st.integers(), max_size=6), max_size=25)


@settings(max_examples=150, deadline=None)
@given(batches=batches, threshold=st.one_of(st.none(), st.integers(1, 12)),
       flushes=st.lists(st.booleans(), max_size=25), conjugate=st.booleans())
def test_no_record_is_lost_or_duplicated(batches, threshold, flushes, conjugate):
    counter = iter(range(10**6))
    buffer = Buffer(count_threshold=threshold, conjugate_controllers=conjugate,
                    custom_controllers=lambda stored: len(stored) % 3 == 0)
    sent: list[Record] = []
    released: list[Record] = []
    for index, batch in enumerate(batches):
        if index < len(flushes) and flushes[index]:
            buffer.flush = True
        new = [Record((next(counter), value)) for value in batch]
        sent.extend(new)
        out = buffer(new)
        if out:
            assert buffer.records == []  # a release hands over everything stored
        released.extend(out)
    still_stored = buffer.records
    # Every record sent comes out exactly once, in order: released, then still stored.
    assert [id(r) for r in released + still_stored] == [id(r) for r in sent]


@settings(max_examples=100, deadline=None)
@given(batches=batches, threshold=st.integers(1, 12))
def test_count_threshold_releases_exactly_when_exceeded(batches, threshold):
    buffer = Buffer(count_threshold=threshold)
    stored = 0
    for batch in batches:
        out = buffer(records(*batch))
        stored += len(batch)
        if stored > threshold:
            assert len(out) == stored
            stored = 0
        else:
            assert out == []
        assert len(buffer.records) == stored
