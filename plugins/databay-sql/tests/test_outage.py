"""Outage test: the PostgreSQL server stops mid-run and comes back on the same port.

A staged link upserts sequence numbers from a growing source into PostgreSQL while a
planner runs it. The server is stopped (fast shutdown: open connections are cut) for a
while and started again with its data. Nothing is lost and nothing is written twice:
everything produced meanwhile arrives once the server is back, the batch in flight having
been retried as the policy says.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from databay import RetryPolicy
from databay.stage import Stage
from databay.testing import TimesPushes, retried_batches, retry_waits, run_through_an_outage
from databay_sql import SqlConnectionError, SqlOutlet
from databay_sql.testing import PostgresServer, external_test_url, postgres_missing_reason

pytestmark = [
    pytest.mark.skipif(postgres_missing_reason() is not None, reason=postgres_missing_reason() or ""),
    pytest.mark.skipif(external_test_url() is not None, reason="stops and restarts the server: needs its own"),
]

POLICY = RetryPolicy(attempts=30, initial_delay=0.1, backoff=2, max_delay=0.8, jitter=0.5)
OUTAGE = 2.5


class TimedSqlOutlet(TimesPushes, SqlOutlet):
    """An SqlOutlet that records when each push began and ended, for which batch, and how."""


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

        outlet = TimedSqlOutlet(url, "seq", "upsert", "seq", timeout=1, retry=POLICY)
        stage = tmp_path / "outage.stage"
        source = run_through_an_outage(outlet, stored, stop=lambda: server.stop(keep_data=True), start=server.start,
                                       stage=stage, during_outage=OUTAGE)
    with Stage(stage) as opened:
        assert opened.backlog() == [] and opened.dead_letters() == []

    retried = retried_batches(outlet.attempts)
    assert len(retried) == 1, "one batch was in flight during the outage"
    [attempts] = retried
    errors = [attempt.error for attempt in attempts]
    assert errors[-1] is None and all(isinstance(e, SqlConnectionError) for e in errors[:-1])
    assert len(attempts) >= 4, f"the outage lasted {OUTAGE} s: several retries"
    assert all(server.password not in str(e) for e in errors[:-1])
    for retry, (waited, shortest, nominal) in enumerate(retry_waits(attempts, POLICY), start=1):
        assert shortest - 0.01 <= waited <= nominal + 0.25, (retry, nominal)
    print(f"\noutage of {OUTAGE} s: {len(attempts)} attempts of the batch in flight, first error: {errors[0]}; "
          f"{len(source.items)} rows, all delivered once")
