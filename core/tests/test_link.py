"""Link: constructor arguments, the node graph, transfer() alone and under a planner, jobs."""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time

import databay.run.steps
import pytest
from databay import Inlet, Link, Outlet, Record
from databay.errors import InvalidNodeError
from databay.planners import SchedulePlanner
from databay.transfer import TransferStats


class ListInlet(Inlet):
    def __init__(self, values=(), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.values = values

    def pull(self, update):
        return [self.new_record(v) if not isinstance(v, Record) else v for v in self.values]


class FixedRecordsInlet(Inlet):
    """Returns the very same Record objects on every pull."""

    def __init__(self, records):
        super().__init__()
        self.records = records

    def pull(self, update):
        return list(self.records)


class FailingInlet(Inlet):
    def pull(self, update):
        raise ValueError("inlet broke")


class Collect(Outlet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[list[Record]] = []
        self.threads: list[str] = []

    def push(self, records, update):
        self.threads.append(threading.current_thread().name)
        self.batches.append(records)

    @property
    def payloads(self):
        return [[r.payload for r in batch] for batch in self.batches]


class FailingOutlet(Outlet):
    def push(self, records, update):
        raise ValueError("outlet broke")


# -- constructor -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (datetime.timedelta(minutes=1), datetime.timedelta(minutes=1)),
        (5, datetime.timedelta(seconds=5)),
        (0.25, datetime.timedelta(milliseconds=250)),
    ],
)
def test_interval_as_timedelta_int_or_float(interval, expected):
    link = Link(ListInlet(), Collect(), interval)
    assert link.interval == expected
    assert isinstance(link.interval, datetime.timedelta)


@pytest.mark.parametrize("interval", ["5", None, True, [1]])
def test_interval_of_wrong_type_is_a_type_error(interval):
    with pytest.raises(TypeError, match="Link interval must be a datetime.timedelta or a number of seconds"):
        Link(ListInlet(), Collect(), interval)


@pytest.mark.parametrize("interval", [0, -1, datetime.timedelta(0)])
def test_interval_not_positive_is_accepted_for_transfers_by_hand(interval):
    # As in databay 0.3: such a link transfers by hand; planners refuse to schedule it
    # (test_schedule_planner.py).
    link = Link(ListInlet([1, 2]), Collect(), interval)
    assert link.interval.total_seconds() == (interval.total_seconds() if isinstance(interval, datetime.timedelta)
                                             else interval)
    assert link.transfer().records_pulled == 2


def test_defaults():
    link = Link(ListInlet(), Collect(), 1)
    assert link.tags == []
    assert link.copy_records is True
    assert link.ignore_exceptions is False
    assert link.inlet_concurrency == 9999
    assert link.immediate_transfer is True
    assert link.processors == []
    assert link.groupers == []
    assert link.job is None


def test_tags_as_string_or_list():
    assert Link(ListInlet(), Collect(), 1, tags="one").tags == ["one"]
    assert Link(ListInlet(), Collect(), 1, tags=["a", "b"]).tags == ["a", "b"]


def test_deprecated_name_becomes_the_only_tag():
    with pytest.warns(DeprecationWarning, match="'name' parameter was deprecated"):
        link = Link(ListInlet(), Collect(), 1, name="old")
    assert link.tags == ["old"]
    with pytest.warns(DeprecationWarning):
        assert link.name == "old"


def test_deprecated_catch_exceptions_sets_ignore_exceptions():
    with pytest.warns(DeprecationWarning, match="catch_exceptions"):
        link = Link(ListInlet(), Collect(), 1, catch_exceptions=True)
    assert link.ignore_exceptions is True


def test_single_nodes_or_lists():
    inlet, outlet = ListInlet(), Collect()
    link = Link(inlet, outlet, 1)
    assert link.inlets == [inlet] and link.outlets == [outlet]
    inlets, outlets = [ListInlet(), ListInlet()], [Collect(), Collect()]
    link = Link(inlets, outlets, 1)
    assert link.inlets == inlets and link.outlets == outlets


def test_link_without_nodes_transfers_nothing():
    stats = Link([], [], 1).transfer()
    assert (stats.records_pulled, stats.records_pushed) == (0, 0)


@pytest.mark.parametrize("value", [0, -3, 1.5, "2"])
def test_inlet_concurrency_must_be_a_positive_int(value):
    with pytest.raises(ValueError, match="inlet_concurrency must be a positive int"):
        Link(ListInlet(), Collect(), 1, inlet_concurrency=value)


def test_repr():
    link = Link(ListInlet(), Collect(), 5, tags="t")
    assert repr(link) == "Link(tags:['t'], inlets:[ListInlet()], outlets:[Collect()], interval:0:00:05)"


# -- the graph -------------------------------------------------------------------


def test_add_and_remove_inlets_and_outlets():
    first_in, second_in = ListInlet([1]), ListInlet([2])
    first_out, second_out = Collect(), Collect()
    link = Link(first_in, first_out, 1)
    link.add_inlets(second_in)
    link.add_outlets([second_out])
    assert link.inlets == [first_in, second_in]
    assert link.outlets == [first_out, second_out]
    link.transfer()
    assert first_out.payloads == second_out.payloads == [[1, 2]]
    link.remove_inlets(first_in)
    link.remove_outlets([first_out])
    assert link.inlets == [second_in] and link.outlets == [second_out]
    link.transfer()
    assert first_out.payloads == [[1, 2]]
    assert second_out.payloads == [[1, 2], [2]]


def test_removing_all_inlets_by_passing_link_inlets():
    inlets = [ListInlet([1]), ListInlet([2])]
    link = Link(inlets, Collect(), 1)
    link.remove_inlets(link.inlets)
    assert link.inlets == []


def test_adding_a_node_twice_is_an_invalid_node_error():
    inlet, outlet = ListInlet(), Collect()
    link = Link(inlet, outlet, 1)
    with pytest.raises(InvalidNodeError, match="Link already contains inlet"):
        link.add_inlets(inlet)
    with pytest.raises(InvalidNodeError, match="Link already contains outlet"):
        link.add_outlets(outlet)
    other = ListInlet()
    with pytest.raises(InvalidNodeError):
        link.add_inlets([other, other])
    assert link.inlets == [inlet]  # nothing of a failed add was added
    with pytest.raises(InvalidNodeError):
        Link([other, other], outlet, 1)


def test_removing_an_absent_node_is_an_invalid_node_error():
    inlet, outlet = ListInlet(), Collect()
    link = Link(inlet, outlet, 1)
    with pytest.raises(InvalidNodeError, match="Link does not contain inlet"):
        link.remove_inlets(ListInlet())
    with pytest.raises(InvalidNodeError, match="Link does not contain outlet"):
        link.remove_outlets(Collect())
    with pytest.raises(InvalidNodeError):
        link.remove_inlets([inlet, ListInlet()])
    assert link.inlets == [inlet]  # nothing of a failed remove was removed


def test_adding_a_non_node_is_a_type_error():
    link = Link(ListInlet(), Collect(), 1)
    with pytest.raises(TypeError, match=r"Provided inlet is not an instance of Inlet\(\), found: "):
        link.add_inlets("not an inlet")
    with pytest.raises(TypeError, match=r"Provided outlet is not an instance of Outlet\(\)"):
        link.add_outlets(ListInlet())
    with pytest.raises(TypeError):
        link.add_inlets(Collect())
    with pytest.raises(TypeError):
        Link(object(), Collect(), 1)
    assert len(link.inlets) == 1 and len(link.outlets) == 1


# -- transfer --------------------------------------------------------------------


def test_transfer_returns_stats_and_numbers_updates():
    outlet = Collect()
    link = Link(ListInlet([1, 2, 3]), outlet, 1, tags="t")
    stats = link.transfer()
    assert isinstance(stats, TransferStats)
    assert str(stats.update) == "t.0"
    assert (stats.records_pulled, stats.records_pushed) == (3, 3)
    assert stats.duration >= 0
    assert str(link.transfer().update) == "t.1"


def test_outlets_are_not_called_with_an_empty_batch():
    outlet = Collect()
    Link(ListInlet([]), outlet, 1).transfer()
    assert outlet.batches == []


def test_copy_records_gives_each_outlet_independent_records():
    class Mutate(Collect):
        def push(self, records, update):
            for record in records:
                record.payload["seen_by"].append(self.label)
                record.metadata["touched"] = self.label
            super().push(records, update)

    outlets = []
    for label in "abc":
        outlet = Mutate()
        outlet.label = label
        outlets.append(outlet)
    Link(ListInlet([{"seen_by": []}, {"seen_by": []}]), outlets, 1).transfer()
    for outlet in outlets:
        for record in outlet.batches[0]:
            assert record.payload == {"seen_by": [outlet.label]}
            assert record.metadata["touched"] == outlet.label


def test_copy_records_makes_only_n_minus_one_copies(monkeypatch):
    copies = []
    real_copy = databay.run.steps.copy_records

    def counting_copy(records):
        copies.append(len(records))
        return real_copy(records)

    monkeypatch.setattr(databay.run.steps, "copy_records", counting_copy)
    originals = [Record({"n": 1}), Record({"n": 2})]
    outlets = [Collect(), Collect(), Collect()]
    Link(FixedRecordsInlet(originals), outlets, 1).transfer()
    assert copies == [2, 2]
    received = [outlet.batches[0] for outlet in outlets]
    # The last outlet gets the originals; the others get copies sharing nothing with them.
    assert [r is o for r, o in zip(received[2], originals)] == [True, True]
    for batch in received[:2]:
        for record, original in zip(batch, originals):
            assert record == original
            assert record is not original and record.payload is not original.payload

    copies.clear()
    Link(FixedRecordsInlet(originals), Collect(), 1).transfer()
    assert copies == []  # one outlet: nothing to isolate from


def test_copy_records_false_shares_the_records():
    originals = [Record({"n": 1})]
    outlets = [Collect(), Collect()]
    Link(FixedRecordsInlet(originals), outlets, 1, copy_records=False).transfer()
    assert outlets[0].batches[0][0] is originals[0]
    assert outlets[1].batches[0][0] is originals[0]


def test_copy_records_copies_record_subclasses_whole():
    class Tagged(Record):
        __slots__ = ("tag",)

        def __init__(self, payload, metadata=None, tag=None):
            super().__init__(payload, metadata)
            self.tag = tag

    outlets = [Collect(), Collect()]
    Link(FixedRecordsInlet([Tagged([1], {}, tag="x")]), outlets, 1).transfer()
    copied = outlets[0].batches[0][0]
    assert type(copied) is Tagged and copied.tag == "x" and copied.payload == [1]
    assert copied.payload is not outlets[1].batches[0][0].payload


def test_ignore_exceptions_false_raises_from_inlet_outlet_processor_and_grouper():
    def bad_processor(records):
        raise KeyError("processor broke")

    def bad_grouper(batches):
        raise IndexError("grouper broke")

    with pytest.raises(ValueError, match="inlet broke"):
        Link(FailingInlet(), Collect(), 1).transfer()
    with pytest.raises(ValueError, match="outlet broke"):
        Link(ListInlet([1]), FailingOutlet(), 1).transfer()
    with pytest.raises(KeyError, match="processor broke"):
        Link(ListInlet([1]), Collect(), 1, processors=bad_processor).transfer()
    with pytest.raises(IndexError, match="grouper broke"):
        Link(ListInlet([1]), Collect(), 1, groupers=bad_grouper).transfer()


def test_ignore_exceptions_logs_and_carries_on(caplog):
    def bad_processor(records):
        raise KeyError("processor broke")

    outlet = Collect()
    link = Link([FailingInlet(), ListInlet([1, 2])], [FailingOutlet(), outlet], 1,
                ignore_exceptions=True, processors=[bad_processor], tags="ign")
    with caplog.at_level(logging.ERROR, logger="databay"):
        stats = link.transfer()
    assert outlet.payloads == [[1, 2]]
    assert (stats.records_pulled, stats.records_pushed) == (2, 2)
    messages = [r.getMessage() for r in caplog.records if r.name == "databay.Link"]
    assert len(messages) == 3
    assert messages[0].startswith('Inlet exception: "inlet broke" for inlet: FailingInlet()')
    assert messages[0].endswith("during: ign.0")
    assert messages[1].startswith("Processor exception: ")
    assert messages[2].startswith('Outlet exception: "outlet broke" for outlet: FailingOutlet()')


@pytest.mark.parametrize("sync", [True, False])
def test_inlet_concurrency_bounds_concurrent_pulls(sync):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def enter():
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])

    def leave():
        with lock:
            state["now"] -= 1

    class SyncSlow(Inlet):
        def pull(self, update):
            enter()
            time.sleep(0.05)
            leave()
            return 1

    class AsyncSlow(Inlet):
        async def pull(self, update):
            enter()
            await asyncio.sleep(0.05)
            leave()
            return 1

    kind = SyncSlow if sync else AsyncSlow
    outlet = Collect()
    Link([kind() for _ in range(6)], outlet, 1, inlet_concurrency=2).transfer()
    assert state["max"] == 2
    assert outlet.payloads == [[1] * 6]

    state["max"] = 0
    Link([kind() for _ in range(4)], Collect(), 1).transfer()
    assert state["max"] == 4  # unbounded by default (9999)


def test_processors_run_in_order_on_all_records():
    def only_large_numbers(records):
        return [r for r in records if r.payload >= 100]

    def round_to_integers(records):
        for record in records:
            record.payload = round(record.payload)
        return records

    outlet = Collect()
    Link(ListInlet([99.999, 200, 333.333]), outlet, 1,
         processors=[only_large_numbers, round_to_integers]).transfer()
    assert outlet.payloads == [[200, 333]]
    outlet = Collect()
    Link(ListInlet([99.999, 200, 333.333]), outlet, 1,
         processors=[round_to_integers, only_large_numbers]).transfer()
    assert outlet.payloads == [[100, 200, 333]]


def test_single_processor_callable():
    outlet = Collect()
    Link(ListInlet([1, 2]), outlet, 1, processors=lambda rs: rs[:1]).transfer()
    assert outlet.payloads == [[1]]


def test_groupers_split_records_into_batches_pushed_separately():
    received_by_first = []

    def first(batches):
        received_by_first.append([[r.payload for r in b] for b in batches])
        return [[r for r in batches[0] if r.payload % 2 == 0], [r for r in batches[0] if r.payload % 2]]

    def pairs(batches):
        out = []
        for batch in batches:
            out += [batch[i:i + 2] for i in range(0, len(batch), 2)]
        return out

    outlet = Collect()
    stats = Link(ListInlet([0, 1, 2, 3, 4, 5]), outlet, 1, groupers=[first, pairs]).transfer()
    assert received_by_first == [[[0, 1, 2, 3, 4, 5]]]  # the first grouper gets one batch of all
    assert outlet.payloads == [[0, 2], [4], [1, 3], [5]]
    assert stats.records_pushed == 6


def test_grouper_by_name_from_the_manual():
    def grouper_by_name(batches):
        result = {}
        for batch in batches:
            for record in batch:
                result.setdefault(record.payload["name"], []).append(record)
        return list(result.values())

    outlet = Collect()
    data = [{"name": "a", "value": 1}, {"name": "a", "value": 2},
            {"name": "b", "value": 3}, {"name": "b", "value": 4}]
    Link(ListInlet(data), outlet, 1, groupers=grouper_by_name).transfer()
    assert outlet.payloads == [data[:2], data[2:]]


def test_transfer_outside_a_planner_runs_sync_nodes_in_the_calling_thread():
    outlet = Collect()
    Link(ListInlet([1]), outlet, 1).transfer()
    assert outlet.threads == [threading.current_thread().name]


def test_transfer_outside_a_planner_pushes_quick_sync_outlets_in_the_calling_thread():
    outlets = [Collect(), Collect(), Collect()]
    Link(ListInlet([1]), outlets, 1).transfer()
    assert [o.threads for o in outlets] == [[threading.current_thread().name]] * 3


def test_transfer_outside_a_planner_pushes_slow_sync_outlets_concurrently():
    class Slow(Collect):
        def push(self, records, update):
            time.sleep(0.2)
            super().push(records, update)

    quick, slow = Collect(), [Slow(), Slow(), Slow()]
    link = Link(ListInlet([1]), [*slow, quick], 1)
    link.transfer()  # the outlets' first pushes: their speed is not known yet
    started = time.perf_counter()
    link.transfer()
    took = time.perf_counter() - started
    assert took < 0.45, f"three 0.2 s pushes took {took:.2f} s: they did not overlap"
    here = threading.current_thread().name
    assert quick.threads == [here, here]
    # Two slow outlets push in threads, the last one on the loop meanwhile.
    assert sorted(o.threads[1] == here for o in slow) == [False, False, True]


def test_transfer_from_inside_a_running_event_loop():
    outlet = Collect()
    link = Link(ListInlet([1]), outlet, 1)

    async def main():
        return link.transfer()

    stats = asyncio.run(main())
    assert stats.records_pushed == 1 and outlet.payloads == [[1]]


def test_transfer_while_a_planner_runs_goes_through_its_engine(run_planner):
    outlet = Collect()
    link = Link(ListInlet([1]), outlet, 60)
    planner = SchedulePlanner(link, immediate_transfer=False)
    run_planner(planner)
    stats = link.transfer()
    assert stats.records_pushed == 1
    assert outlet.threads[0].startswith("databay-worker")
    planner.shutdown()
    link.transfer()  # after shutdown: standalone again
    assert outlet.threads[1] == threading.current_thread().name


def test_transfer_while_a_planner_runs_never_overlaps_a_scheduled_one(run_planner, wait_until):
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "count": 0}

    class Slow(Inlet):
        def pull(self, update):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.15)
            with lock:
                state["now"] -= 1
                state["count"] += 1
            return 1

    link = Link(Slow(), Collect(), 0.05)
    planner = SchedulePlanner(link)
    run_planner(planner)
    assert wait_until(lambda: state["now"] == 1)
    link.transfer()  # must wait for the scheduled one in flight
    planner.shutdown()
    assert state["max"] == 1
    assert state["count"] >= 2


def test_job_and_set_job():
    link = Link(ListInlet(), Collect(), 1)
    marker = object()
    link.set_job(marker)
    assert link.job is marker
    link.set_job(None)
    assert link.job is None


def test_on_start_failure_raises_unless_the_link_ignores_exceptions(caplog):
    started = []

    class BadStart(Collect):
        def on_start(self):
            raise OSError("cannot connect")

    class GoodStart(Collect):
        def on_start(self):
            started.append(self)

    good = GoodStart()
    with pytest.raises(OSError, match="cannot connect"):
        Link(ListInlet(), [BadStart(), good], 1).on_start()
    assert started == []
    other = GoodStart()
    with caplog.at_level(logging.ERROR, logger="databay.Link"):
        Link(ListInlet(), [BadStart(), other], 1, ignore_exceptions=True).on_start()
    assert started == [other]
    assert caplog.records[0].getMessage().startswith('on_start outlet exception: "cannot connect" for outlet: BadStart()')
