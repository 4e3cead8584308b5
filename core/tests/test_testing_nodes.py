"""The test nodes of databay.testing (SequenceInlet, GrowingInlet, CollectingOutlet, the
LosesTheAnswer and TimesPushes mixins) and the outage run built on them."""

from __future__ import annotations

import asyncio
import threading

import pytest
from databay import Link, Outlet, Record, RetryPolicy
from databay.stage import Stage
from databay.testing import (
    CollectingOutlet,
    GrowingInlet,
    LosesTheAnswer,
    PushAttempt,
    SequenceInlet,
    TimesPushes,
    retried_batches,
    retry_waits,
    run_through_an_outage,
)


def test_sequence_inlet_counts_on_and_a_new_one_starts_again():
    inlet = SequenceInlet(2)
    assert [inlet.pull(None), inlet.pull(None)] == [[{"n": 0}, {"n": 1}], [{"n": 2}, {"n": 3}]]
    assert SequenceInlet(payload=str).pull(None) == ["0", "1", "2"]
    assert inlet.get_state() is None, "no state in a stage: a restart counts from 0"


def test_sequence_inlet_keeps_its_position_as_state_when_told():
    inlet = SequenceInlet(2, keeps_state=True)
    inlet.pull(None)
    assert inlet.get_state() == {"next": 2}
    restarted = SequenceInlet(2, keeps_state=True)
    restarted.set_state(inlet.get_state())
    assert restarted.pull(None) == [{"n": 2}, {"n": 3}]


def test_growing_inlet_takes_what_is_new_and_keeps_its_position_as_state():
    inlet = GrowingInlet("k")
    producer = threading.Thread(target=inlet.produce)
    producer.start()
    while len(inlet.items) < 5:
        pass
    inlet.stop_producing()
    producer.join(5)
    assert not producer.is_alive()
    first = inlet.pull(None)
    assert first == [{"k": n} for n in range(len(inlet.items))] and inlet.pull(None) == []
    restarted = GrowingInlet("k")
    restarted.items = inlet.items + [len(inlet.items)]
    restarted.set_state(inlet.get_state())
    assert restarted.pull(None) == [{"k": len(inlet.items)}]


def test_collecting_outlet_fails_as_told_then_keeps_records():
    outlet = CollectingOutlet(failures=1)
    with pytest.raises(ConnectionError):
        outlet.push([Record({"n": 1})], None)
    outlet.push([Record({"n": 2})], None)
    assert outlet.payloads == [{"n": 2}]


class Writes(Outlet):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.written = []

    def push(self, records, update):
        self.written.extend(r.payload["n"] for r in records)


class LosingWrites(LosesTheAnswer, Writes):
    pass


def test_a_lost_answer_makes_a_staged_link_deliver_the_batch_again(tmp_path):
    outlet = LosingWrites(losses=1)
    link = Link(SequenceInlet(2), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()
    assert outlet.written == [0, 1] and [b.batches for b in link.stage.backlog()] == [1]
    link.transfer()
    link.on_shutdown()
    assert outlet.written == [0, 1, 0, 1, 2, 3] and outlet.losses == 0


class AsyncWrites(Outlet):
    def __init__(self):
        super().__init__()
        self.written = []

    async def push(self, records, update):
        await asyncio.sleep(0)
        self.written.extend(r.payload for r in records)


class LosingAsyncWrites(LosesTheAnswer, AsyncWrites):
    pass


class TimedAsyncWrites(TimesPushes, AsyncWrites):
    pass


def test_the_mixins_keep_an_async_push_async():
    losing, timed = LosingAsyncWrites(losses=1), TimedAsyncWrites()
    assert losing._uses_coroutine and timed._uses_coroutine
    with pytest.raises(ConnectionError, match="connection reset before the reply"):
        asyncio.run(losing.push([Record(1)], None))
    asyncio.run(losing.push([Record(2)], None))
    asyncio.run(timed.push([Record(3)], None))
    assert losing.written == [1, 2] and timed.written == [3] and len(timed.attempts) == 1


class TimedCollecting(TimesPushes, CollectingOutlet):
    pass


def test_timed_pushes_name_their_batch_and_error(tmp_path):
    outlet = TimedCollecting(failures=1)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    [failed, again, second] = outlet.attempts
    assert isinstance(failed.error, ConnectionError) and again.error is None and second.error is None
    assert failed.batch == again.batch != second.batch and failed.batch.endswith(":1")
    assert failed.began <= failed.ended <= again.began
    assert retried_batches(outlet.attempts) == [[failed, again]]


def test_retry_waits_against_the_policy():
    policy = RetryPolicy(attempts=5, initial_delay=0.1, backoff=2, max_delay=0.3, jitter=0.5)
    attempts = [PushAttempt("b", 0.0, 1.0, OSError()), PushAttempt("b", 1.1, 2.0, OSError()),
                PushAttempt("b", 2.3, 2.4, None)]
    waits = retry_waits(attempts, policy)
    assert [(round(w, 6), round(s, 6), round(n, 6)) for w, s, n in waits] == [(0.1, 0.05, 0.1), (0.3, 0.1, 0.2)]


class FlakyServer:
    """Numbers "stored" in memory; while it is down, pushes fail (or, with ``loses``, are
    acknowledged and dropped, which the outage run must catch)."""

    def __init__(self, loses: bool = False):
        self.up, self.loses, self.numbers = True, loses, set()

    def outlet(self) -> Outlet:
        server = self

        class ToServer(Outlet):
            def push(self, records, update):
                if not server.up:
                    if server.loses:
                        return
                    raise ConnectionError("server down")
                server.numbers.update(r.payload["seq"] for r in records)

        return ToServer()

    def stored(self) -> list[int]:
        return sorted(self.numbers)

    def stop(self):
        self.up = False

    def start(self):
        self.up = True


def test_an_outage_run_ends_once_everything_produced_is_stored(tmp_path):
    server = FlakyServer()
    source = run_through_an_outage(server.outlet(), server.stored, stop=server.stop, start=server.start,
                                   stage=tmp_path / "o.stage", during_outage=0.3, timeout=20)
    assert len(source.items) > 50 and server.stored() == list(range(len(source.items)))
    with Stage(tmp_path / "o.stage") as stage:
        assert stage.backlog() == []


def test_an_outage_run_fails_when_records_are_lost(tmp_path):
    server = FlakyServer(loses=True)
    with pytest.raises(AssertionError, match=r"numbers produced, \d+ stored"):
        run_through_an_outage(server.outlet(), server.stored, stop=server.stop, start=server.start,
                              stage=tmp_path / "o.stage", during_outage=0.3, timeout=3)
