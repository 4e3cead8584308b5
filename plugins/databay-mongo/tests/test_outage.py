"""Outage test: the MongoDB server stops mid-run and comes back on the same port (nx-27017 only).

A staged link writes sequence numbers from a growing source into MongoDB while a planner
runs it. The server is stopped for a while and started again, keeping its data (an
SQLite file). Nothing is lost: everything produced meanwhile arrives once the server is
back, and each retry waited as the policy says.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pymongo
import pytest
from databay import Inlet, Link
from databay.planners import SchedulePlanner
from databay.retry import RetryPolicy
from databay.stage import Stage
from databay_mongo import MongoOutlet
from databay_mongo.testing import NxServer, external_test_uri

pytestmark = pytest.mark.skipif(
    external_test_uri() is not None, reason="stops and restarts the server: needs nx-27017")

POLICY = RetryPolicy(attempts=20, initial_delay=0.1, backoff=2, max_delay=0.8, jitter=0.5)
OUTAGE = 2.5


class GrowingSource(Inlet):
    """Sequence numbers appended by a thread; each pull takes the new ones (state: how many taken)."""

    def __init__(self):
        super().__init__()
        self.items: list[int] = []
        self.taken = 0
        self.lock = threading.Lock()

    def produce(self, until: float) -> None:
        while time.monotonic() < until:
            with self.lock:
                self.items.append(len(self.items))
            time.sleep(0.005)

    def pull(self, update):
        with self.lock:
            new, self.taken = self.items[self.taken:], len(self.items)
        return [{"seq": n} for n in new]

    def get_state(self):
        return {"taken": self.taken}

    def set_state(self, state):
        self.taken = state["taken"]


class TimedOutlet(MongoOutlet):
    """A MongoOutlet that records when each push began and ended, for which batch, and how."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attempts: list[tuple[str, float, float, bool]] = []

    def push(self, records, update):
        began = time.monotonic()
        try:
            super().push(records, update)
        except Exception:
            self.attempts.append((records[0].metadata[Stage.BATCH_ID], began, time.monotonic(), False))
            raise
        self.attempts.append((records[0].metadata[Stage.BATCH_ID], began, time.monotonic(), True))


def stored(uri: str, database: str) -> list[int]:
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return sorted(d["seq"] for d in client[database]["seq"].find({}, {"seq": 1}))


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def server(tmp_path):
    with NxServer(db_path=tmp_path / "nx.db") as server:
        yield server


def run_through_an_outage(server: NxServer, stage: Path, during_outage: Callable[[], None],
                           retry: RetryPolicy | None = None) -> tuple[int, TimedOutlet]:
    """Run a staged link from a growing source into MongoDB under a planner; once more than
    50 records are stored, stop the server, call ``during_outage()`` and start it again.
    Returns once every record produced is stored: how many there are, and the outlet."""
    source = GrowingSource()
    outlet = TimedOutlet("outage", "seq", uri=server.uri, timeout=0.3, idempotent=True, retry=retry)
    link = Link(source, outlet, interval=0.05, stage=stage)
    planner = SchedulePlanner(link, ignore_exceptions=True)
    runner = threading.Thread(target=planner.start)
    producer = threading.Thread(target=source.produce, args=(time.monotonic() + OUTAGE + 3,))
    producer.start()
    runner.start()
    try:
        assert wait_for(lambda: len(stored(server.uri, "outage")) > 50, 10)
        server.stop()
        during_outage()
        server.start()
        producer.join()
        produced = len(source.items)
        assert wait_for(lambda: stored(server.uri, "outage") == list(range(produced)), 20), (
            produced, len(stored(server.uri, "outage")))
    finally:
        planner.shutdown()
        runner.join(10)
    return produced, outlet


def test_the_backlog_drains_after_an_outage_and_retries_back_off_as_configured(server, tmp_path):
    produced, outlet = run_through_an_outage(server, tmp_path / "outage.stage", lambda: time.sleep(OUTAGE),
                                             retry=POLICY)
    with Stage(tmp_path / "outage.stage") as stage:
        assert stage.backlog() == [] and stage.dead_letters() == []

    by_batch = defaultdict(list)
    for batch, began, ended, ok in outlet.attempts:
        by_batch[batch].append((began, ended, ok))
    retried = [attempts for attempts in by_batch.values() if len(attempts) > 1]
    assert len(retried) == 1, "one batch was in flight during the outage"
    [attempts] = retried
    assert [ok for _, _, ok in attempts] == [False] * (len(attempts) - 1) + [True]
    assert len(attempts) >= 4, f"the outage lasted {OUTAGE} s: several retries"
    observed = []
    for retry, ((_, failed_at, _), (next_began, _, _)) in enumerate(zip(attempts, attempts[1:]), start=1):
        nominal = min(POLICY.max_delay, POLICY.initial_delay * POLICY.backoff ** (retry - 1))
        waited = next_began - failed_at
        observed.append(f"{waited:.2f}/{nominal:g}")
        assert nominal * (1 - POLICY.jitter) - 0.01 <= waited <= nominal + 0.25, (retry, nominal, waited)
    print(f"\noutage of {OUTAGE} s: {len(attempts)} attempts; waits before each retry (observed/nominal s): "
          f"{', '.join(observed)}; {produced} records, all delivered")


def test_without_a_policy_batches_wait_in_the_stage_and_drain_in_order(server, tmp_path):
    stage = tmp_path / "outage.stage"

    def during_outage() -> None:
        assert wait_for(lambda: sum(b.batches for b in Stage(stage).backlog()) >= 3, OUTAGE)
        time.sleep(max(0.0, OUTAGE - 1))

    _, outlet = run_through_an_outage(server, stage, during_outage)
    delivered = [batch for batch, _, _, ok in outlet.attempts if ok]
    numbers = [int(batch.rsplit(":", 1)[1]) for batch in delivered]
    assert numbers == sorted(numbers), "batches are delivered in the order they were staged"
