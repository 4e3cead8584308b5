"""Outage test: the PostgreSQL server stops mid-run and comes back on the same port.

A staged link upserts sequence numbers from a growing source into PostgreSQL while a
planner runs it. The server is stopped (fast shutdown: open connections are cut) for a
while and started again with its data. Nothing is lost and nothing is written twice:
everything produced meanwhile arrives once the server is back, the batch in flight having
been retried as the policy says.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
import sqlalchemy as sa
from databay import Inlet, Link, RetryPolicy
from databay.planners import SchedulePlanner
from databay.stage import Stage
from databay_sql import SqlConnectionError, SqlOutlet
from databay_sql.testing import PostgresServer, external_test_url, postgres_missing_reason

pytestmark = [
    pytest.mark.skipif(postgres_missing_reason() is not None, reason=postgres_missing_reason() or ""),
    pytest.mark.skipif(external_test_url() is not None, reason="stops and restarts the server: needs its own"),
]

POLICY = RetryPolicy(attempts=30, initial_delay=0.1, backoff=2, max_delay=0.8, jitter=0.5)
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


class TimedOutlet(SqlOutlet):
    """An SqlOutlet that records when each push began and ended, for which batch, and how."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attempts: list[tuple[str, float, float, BaseException | None]] = []

    def push(self, records, update):
        began = time.monotonic()
        try:
            super().push(records, update)
        except Exception as exc:
            self.attempts.append((records[0].metadata[Stage.BATCH_ID], began, time.monotonic(), exc))
            raise
        self.attempts.append((records[0].metadata[Stage.BATCH_ID], began, time.monotonic(), None))


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_backlog_drains_after_an_outage_with_no_duplicate(tmp_path):
    with PostgresServer() as server:
        url = server.create_database("outage")
        server.execute("CREATE TABLE seq (seq integer PRIMARY KEY)", database="outage")

        def stored() -> list[int]:
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as connection:
                    return connection.exec_driver_sql("SELECT seq FROM seq ORDER BY seq").scalars().all()
            finally:
                engine.dispose()

        source = GrowingSource()
        outlet = TimedOutlet(url, "seq", "upsert", "seq", timeout=1, retry=POLICY)
        stage = tmp_path / "outage.stage"
        planner = SchedulePlanner(Link(source, outlet, interval=0.05, stage=stage), ignore_exceptions=True)
        runner = threading.Thread(target=planner.start)
        producer = threading.Thread(target=source.produce, args=(time.monotonic() + OUTAGE + 3,))
        producer.start()
        runner.start()
        try:
            assert wait_for(lambda: len(stored()) > 50, 10)
            server.stop(keep_data=True)
            time.sleep(OUTAGE)
            server.start()
            producer.join()
            produced = len(source.items)
            assert wait_for(lambda: stored() == list(range(produced)), 30), (produced, len(stored()))
        finally:
            planner.shutdown()
            runner.join(10)
    with Stage(stage) as opened:
        assert opened.backlog() == [] and opened.dead_letters() == []

    by_batch = defaultdict(list)
    for batch, began, ended, error in outlet.attempts:
        by_batch[batch].append((began, ended, error))
    retried = [attempts for attempts in by_batch.values() if len(attempts) > 1]
    assert len(retried) == 1, "one batch was in flight during the outage"
    [attempts] = retried
    errors = [error for _, _, error in attempts]
    assert errors[-1] is None and all(isinstance(e, SqlConnectionError) for e in errors[:-1])
    assert len(attempts) >= 4, f"the outage lasted {OUTAGE} s: several retries"
    assert all(server.password not in str(e) for e in errors[:-1])
    for retry, ((_, failed_at, _), (next_began, _, _)) in enumerate(zip(attempts, attempts[1:]), start=1):
        nominal = min(POLICY.max_delay, POLICY.initial_delay * POLICY.backoff ** (retry - 1))
        assert nominal * (1 - POLICY.jitter) - 0.01 <= next_began - failed_at <= nominal + 0.25, (retry, nominal)
    print(f"\noutage of {OUTAGE} s: {len(attempts)} attempts of the batch in flight, first error: {errors[0]}; "
          f"{produced} rows, all delivered once")
