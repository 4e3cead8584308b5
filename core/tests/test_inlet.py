"""Inlet: metadata, new_record, list vs non-list results, sync and async pull, lifecycle."""

from __future__ import annotations

import asyncio

import pytest
from databay import Inlet, Link, Outlet, Record, Update
from databay.inlets.random_int_inlet import RandomIntInlet
from databay.planners import SchedulePlanner

UPDATE = Update(["test"], 0)


class ValueInlet(Inlet):
    """Returns whatever it was given, as is."""

    def __init__(self, value=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.value = value

    def pull(self, update):
        return self.value


class AsyncValueInlet(ValueInlet):
    async def pull(self, update):
        await asyncio.sleep(0)
        return self.value


class Collect(Outlet):
    def __init__(self):
        super().__init__()
        self.received: list[list[Record]] = []

    def push(self, records, update):
        self.received.append(records)


class CountingInlet(ValueInlet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.starts = 0
        self.shutdowns = 0

    def on_start(self):
        self.starts += 1

    def on_shutdown(self):
        self.shutdowns += 1


def pull(inlet: Inlet) -> list[Record]:
    return asyncio.run(inlet._pull(UPDATE))


def test_inlet_is_abstract():
    with pytest.raises(TypeError):
        Inlet()


def test_metadata_defaults_to_empty_dict():
    assert ValueInlet().metadata == {}


def test_global_metadata_is_attached_to_every_record():
    inlet = ValueInlet([1, 2], metadata={"animal": "cat"})
    records = pull(inlet)
    assert [r.payload for r in records] == [1, 2]
    for record in records:
        assert record.metadata == {"animal": "cat", "__inlet__": "ValueInlet(metadata={'animal': 'cat'})"}


def test_each_record_gets_its_own_copy_of_the_metadata():
    inlet = ValueInlet([1, 2], metadata={"animal": "cat"})
    first, second = pull(inlet)
    first.metadata["animal"] = "dog"
    assert second.metadata["animal"] == "cat"
    assert inlet.metadata == {"animal": "cat"}
    assert pull(inlet)[0].metadata["animal"] == "cat"


def test_inlet_metadata_is_the_given_dict_unchanged():
    metadata = {"animal": "parrot"}
    inlet = ValueInlet(1, metadata=metadata)
    pull(inlet)
    inlet.new_record(1, {"animal": "cat"})
    assert metadata == {"animal": "parrot"}


def test_inlet_dunder_metadata_is_the_repr_of_the_producer():
    inlet = RandomIntInlet(metadata={"animal": "cat"})
    record = pull(inlet)[0]
    assert record.metadata["__inlet__"] == "RandomIntInlet(metadata={'animal': 'cat'})"
    assert RandomIntInlet().new_record(1).metadata == {"__inlet__": "RandomIntInlet()"}


def test_new_record_local_metadata_overrides_and_extends_global():
    inlet = ValueInlet(metadata={"animal": "cat", "legs": 4})
    record = inlet.new_record(payload=3, metadata={"animal": "parrot", "wings": 2})
    assert isinstance(record, Record)
    assert record.payload == 3
    assert record.metadata == {"animal": "parrot", "legs": 4, "wings": 2,
                               "__inlet__": repr(inlet)}
    assert inlet.new_record(4).metadata == {"animal": "cat", "legs": 4, "__inlet__": repr(inlet)}


def test_non_list_result_is_one_record():
    for value in [{1, 2}, (1, 2), {"a": 1}, "text", 7, None]:
        records = pull(ValueInlet(value))
        assert [r.payload for r in records] == [value]


def test_list_result_is_one_record_per_element():
    assert [r.payload for r in pull(ValueInlet([1, "a", {"b": 2}]))] == [1, "a", {"b": 2}]


def test_empty_list_produces_nothing():
    assert pull(ValueInlet([])) == []


def test_nested_list_produces_one_record_holding_a_list():
    assert [r.payload for r in pull(ValueInlet([[1, 2]]))] == [[1, 2]]


def test_records_returned_by_pull_are_kept_as_they_are():
    inlet = ValueInlet()
    mine = inlet.new_record(5, {"animal": "cat"})
    inlet.value = mine
    assert pull(inlet)[0] is mine
    other = Record(6, {"x": 1})
    inlet.value = [mine, other, 7]
    records = pull(inlet)
    assert records[0] is mine and records[1] is other
    assert records[2].payload == 7 and records[2].metadata == {"__inlet__": "ValueInlet()"}


def test_overridden_new_record_is_used_for_raw_results():
    class Custom(ValueInlet):
        def new_record(self, payload, metadata=None):
            return super().new_record(payload * 10, {"custom": True})

    records = pull(Custom([1, 2]))
    assert [(r.payload, r.metadata["custom"]) for r in records] == [(10, True), (20, True)]


def test_pull_receives_the_update():
    seen = []

    class Spy(Inlet):
        def pull(self, update):
            seen.append(str(update))
            return []

    link = Link(Spy(), Collect(), 1, tags="spy")
    link.transfer()
    link.transfer()
    assert seen == ["spy.0", "spy.1"]


def test_async_pull_is_awaited():
    inlet = AsyncValueInlet([1, 2], metadata={"m": 1})
    records = pull(inlet)
    assert [r.payload for r in records] == [1, 2]
    assert records[0].metadata == {"m": 1, "__inlet__": "AsyncValueInlet(metadata={'m': 1})"}


def test_sync_and_async_inlets_in_one_link():
    outlet = Collect()
    link = Link([ValueInlet([1, 2]), AsyncValueInlet(3)], outlet, 1)
    link.transfer()
    assert [r.payload for r in outlet.received[0]] == [1, 2, 3]


def test_async_inlets_run_concurrently():
    class Sleepy(Inlet):
        async def pull(self, update):
            await asyncio.sleep(0.2)
            return 1

    outlet = Collect()
    link = Link([Sleepy() for _ in range(5)], outlet, 1)
    stats = link.transfer()
    assert len(outlet.received[0]) == 5
    assert stats.duration < 0.8  # five 0.2 s pulls in parallel, not one after another


def test_active_and_try_start_try_shutdown_call_callbacks_once():
    inlet = CountingInlet()
    assert inlet.active is False
    inlet.try_start()
    inlet.try_start()
    assert inlet.active is True
    assert inlet.starts == 1
    inlet.try_shutdown()
    inlet.try_shutdown()
    assert inlet.active is False
    assert inlet.shutdowns == 1
    inlet.try_start()  # a new cycle starts it again
    assert (inlet.starts, inlet.active) == (2, True)


def test_try_shutdown_before_start_does_nothing():
    inlet = CountingInlet()
    inlet.try_shutdown()
    assert (inlet.shutdowns, inlet.active) == (0, False)


def test_async_on_start_and_on_shutdown_are_awaited_by_try_start():
    calls = []

    class AsyncLifecycle(ValueInlet):
        async def on_start(self):
            await asyncio.sleep(0)
            calls.append("start")

        async def on_shutdown(self):
            await asyncio.sleep(0)
            calls.append("shutdown")

    inlet = AsyncLifecycle()
    inlet.try_start()
    inlet.try_shutdown()
    assert calls == ["start", "shutdown"]


def test_async_lifecycle_outside_a_planner_runs_on_the_loop_of_link_transfer():
    """What an async on_start opens (bound to its loop) is usable by Link.transfer()."""
    loops = {}

    class LoopBound(AsyncValueInlet):
        async def on_start(self):
            loops["start"] = asyncio.get_running_loop()

        async def pull(self, update):
            loops["pull"] = asyncio.get_running_loop()
            return []

        async def on_shutdown(self):
            loops["shutdown"] = asyncio.get_running_loop()

    link = Link(LoopBound(), [], interval=1)
    link.on_start()
    link.transfer()
    link.on_shutdown()
    assert loops["start"] is loops["pull"] is loops["shutdown"]
    assert not loops["start"].is_closed()


def test_shared_inlet_starts_and_shuts_down_once_per_planner_run(run_planner, wait_until):
    inlet = CountingInlet([])
    active_seen = []

    class Watch(Outlet):
        def push(self, records, update):
            active_seen.append(inlet.active)

    links = [Link(inlet, Watch(), 60), Link(inlet, Watch(), 60)]
    planner = SchedulePlanner(links, immediate_transfer=False)
    run_planner(planner)
    assert wait_until(lambda: inlet.starts == 1)
    assert inlet.active is True
    planner.shutdown()
    assert (inlet.starts, inlet.shutdowns, inlet.active) == (1, 1, False)


def test_link_on_start_and_on_shutdown_propagate_to_nodes():
    inlet = CountingInlet()
    link = Link(inlet, Collect(), 1)
    link.on_start()
    link.on_start()
    assert inlet.starts == 1 and inlet.active and link.outlets[0].active
    link.on_shutdown()
    assert inlet.shutdowns == 1 and not inlet.active and not link.outlets[0].active


def test_repr():
    assert repr(ValueInlet()) == "ValueInlet()"
    assert repr(ValueInlet(metadata={"a": 1})) == "ValueInlet(metadata={'a': 1})"
