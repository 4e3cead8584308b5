"""Outage test: the MongoDB server stops mid-run and comes back on the same port (nx-27017 only).

A staged link writes sequence numbers from a growing source into MongoDB while a planner
runs it. The server is stopped for a while and started again, keeping its data (an
SQLite file). Nothing is lost: everything produced meanwhile arrives once the server is
back, and each retry waited as the policy says.
"""

from __future__ import annotations

import time
from pathlib import Path

import pymongo
import pytest
from databay.retry import RetryPolicy
from databay.stage import Stage
from databay.testing import TimesPushes, retried_batches, retry_waits, run_through_an_outage
from databay_mongo import MongoOutlet
from databay_mongo.testing import NxServer, external_test_uri

pytestmark = pytest.mark.skipif(
    external_test_uri() is not None, reason="stops and restarts the server: needs nx-27017")

POLICY = RetryPolicy(attempts=20, initial_delay=0.1, backoff=2, max_delay=0.8, jitter=0.5)
OUTAGE = 2.5


class TimedMongoOutlet(TimesPushes, MongoOutlet):
    """A MongoOutlet that records when each push began and ended, for which batch, and how."""


def stored(uri: str, database: str) -> list[int]:
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return sorted(d["seq"] for d in client[database]["seq"].find({}, {"seq": 1}))


@pytest.fixture
def server(tmp_path):
    with NxServer(db_path=tmp_path / "nx.db") as server:
        yield server


def run(server: NxServer, stage: Path, during_outage, retry: RetryPolicy | None = None):
    """A staged link from a growing source into MongoDB through an outage of the server:
    how many records it produced (all stored in the end), and the outlet."""
    outlet = TimedMongoOutlet("outage", "seq", uri=server.uri, timeout=0.3, idempotent=True, retry=retry)
    source = run_through_an_outage(outlet, lambda: stored(server.uri, "outage"), stop=server.stop,
                                   start=server.start, stage=stage, during_outage=during_outage)
    return len(source.items), outlet


def test_the_backlog_drains_after_an_outage_and_retries_back_off_as_configured(server, tmp_path):
    produced, outlet = run(server, tmp_path / "outage.stage", OUTAGE, retry=POLICY)
    with Stage(tmp_path / "outage.stage") as stage:
        assert stage.backlog() == [] and stage.dead_letters() == []

    retried = retried_batches(outlet.attempts)
    assert len(retried) == 1, "one batch was in flight during the outage"
    [attempts] = retried
    assert [a.error is None for a in attempts] == [False] * (len(attempts) - 1) + [True]
    assert len(attempts) >= 4, f"the outage lasted {OUTAGE} s: several retries"
    waits = retry_waits(attempts, POLICY)
    for retry, (waited, shortest, nominal) in enumerate(waits, start=1):
        assert shortest - 0.01 <= waited <= nominal + 0.25, (retry, nominal, waited)
    print(f"\noutage of {OUTAGE} s: {len(attempts)} attempts; waits before each retry (observed/nominal s): "
          f"{', '.join(f'{waited:.2f}/{nominal:g}' for waited, _, nominal in waits)}; {produced} records, "
          f"all delivered")


def test_without_a_policy_batches_wait_in_the_stage_and_drain_in_order(server, tmp_path, wait_until):
    stage = tmp_path / "outage.stage"

    def during_outage() -> None:
        assert wait_until(lambda: sum(b.batches for b in Stage(stage).backlog()) >= 3, OUTAGE, every=0.05)
        time.sleep(max(0.0, OUTAGE - 1))

    _, outlet = run(server, stage, during_outage)
    delivered = [attempt.batch for attempt in outlet.attempts if attempt.error is None]
    numbers = [int(batch.rsplit(":", 1)[1]) for batch in delivered]
    assert numbers == sorted(numbers), "batches are delivered in the order they were staged"
