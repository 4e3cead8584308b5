"""Outlet: sync and async push, outlet processors, MetadataKey, lifecycle."""

from __future__ import annotations

import asyncio
import time

import pytest
from databay import Inlet, Link, Outlet, Record, Update
from databay.outlet import MetadataKey


class ListInlet(Inlet):
    def __init__(self, values, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.values = values

    def pull(self, update):
        return list(self.values)


class SyncCollect(Outlet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[list, str]] = []

    def push(self, records, update):
        self.received.append(([r.payload for r in records], str(update)))


class AsyncCollect(SyncCollect):
    async def push(self, records, update):
        await asyncio.sleep(0)
        self.received.append(([r.payload for r in records], str(update)))


def test_outlet_is_abstract():
    with pytest.raises(TypeError):
        Outlet()


@pytest.mark.parametrize("outlet_type", [SyncCollect, AsyncCollect])
def test_push_receives_records_and_update(outlet_type):
    outlet = outlet_type()
    link = Link(ListInlet([1, 2]), outlet, 1, tags="out")
    link.transfer()
    link.transfer()
    assert outlet.received == [([1, 2], "out.0"), ([1, 2], "out.1")]


def test_private_push_entry_point_processes_then_pushes():
    outlet = AsyncCollect(processors=lambda records: records[::-1])
    asyncio.run(outlet._push([Record(1), Record(2)], Update(["t"], 4)))
    assert outlet.received == [([2, 1], "t.4")]


def test_processors_default_to_empty_list_and_accept_one_callable():
    assert SyncCollect().processors == []

    def double(records):
        return records

    assert SyncCollect(processors=double).processors == [double]
    assert SyncCollect(processors=[double, double]).processors == [double, double]


def test_outlet_processors_apply_only_to_their_outlet_after_link_processors():
    calls = []

    def link_add_ten(records):
        calls.append("link")
        for record in records:
            record.payload += 10
        return records

    def outlet_only_large(records):
        calls.append("outlet")
        return [r for r in records if r.payload >= 12]

    plain = SyncCollect()
    filtered = AsyncCollect(processors=outlet_only_large)
    Link(ListInlet([1, 2, 3]), [plain, filtered], 1, processors=link_add_ten).transfer()
    assert plain.received == [([11, 12, 13], "0")]
    assert filtered.received == [([12, 13], "0")]
    assert calls == ["link", "outlet"]


def test_outlet_processors_run_in_order():
    outlet = SyncCollect(processors=[
        lambda rs: [r for r in rs if r.payload >= 100],
        lambda rs: [Record(round(r.payload)) for r in rs],
    ])
    Link(ListInlet([99.999, 200, 333.333]), outlet, 1).transfer()
    assert outlet.received == [([200, 333], "0")]


def test_outlet_processors_run_after_groupers_per_batch():
    seen = []

    def spy(records):
        seen.append([r.payload for r in records])
        return records

    outlet = SyncCollect(processors=spy)

    def pairs(batches):
        flat = [r for batch in batches for r in batch]
        return [flat[i:i + 2] for i in range(0, len(flat), 2)]

    Link(ListInlet([0, 1, 2, 3]), outlet, 1, groupers=pairs).transfer()
    assert seen == [[0, 1], [2, 3]]


@pytest.mark.parametrize("outlet_type", [SyncCollect, AsyncCollect])
def test_outlet_is_not_called_when_its_processors_leave_nothing(outlet_type):
    outlet = outlet_type(processors=lambda records: [])
    other = SyncCollect()
    Link(ListInlet([1, 2]), [outlet, other], 1).transfer()
    assert outlet.received == []
    assert other.received == [([1, 2], "0")]


def test_outlet_processors_see_empty_transfers_so_a_buffer_can_release():
    from databay.support.buffers import Buffer

    inlet = ListInlet([1])
    buffer = Buffer(time_threshold=0.1)
    outlet = SyncCollect(processors=buffer)
    link = Link(inlet, outlet, 1)
    link.transfer()
    inlet.values = []
    link.transfer()
    assert outlet.received == []
    time.sleep(0.15)
    link.transfer()  # no new records, but the time threshold has passed
    assert outlet.received == [([1], "2")]


def test_metadata_key_convention():
    class CsvOutlet(SyncCollect):
        CSV_FILE: MetadataKey = "CsvOutlet.CSV_FILE"

    assert MetadataKey is str
    assert CsvOutlet.CSV_FILE == "CsvOutlet.CSV_FILE"
    record = Record({"a": 1}, {CsvOutlet.CSV_FILE: "out.csv"})
    assert record.metadata.get(CsvOutlet.CSV_FILE) == "out.csv"


def test_outlet_lifecycle_once_and_active():
    calls = []

    class Lifecycle(SyncCollect):
        def on_start(self):
            calls.append("start")

        def on_shutdown(self):
            calls.append("shutdown")

    outlet = Lifecycle()
    assert outlet.active is False
    outlet.try_start()
    outlet.try_start()
    assert outlet.active is True
    outlet.try_shutdown()
    outlet.try_shutdown()
    assert outlet.active is False
    assert calls == ["start", "shutdown"]


def test_repr():
    assert repr(SyncCollect()) == "SyncCollect()"
