"""An outage test for an outlet: its server stops while a staged link runs, and comes back.

With a server the test can stop and start again on the same port (a
:class:`~databay.testing.ServerProcess`), :func:`run_through_an_outage` checks that the
stage carries a link through the outage: nothing produced meanwhile is lost, and (with
:class:`~databay.testing.TimesPushes` on the outlet) the retries of the batch in flight
can be checked against the link's retry policy with :func:`retried_batches` and
:func:`~databay.testing.retry_waits`::

    class TimedSqlOutlet(TimesPushes, SqlOutlet):
        pass

    outlet = TimedSqlOutlet(url, "seq", "upsert", "seq", retry=POLICY)
    source = run_through_an_outage(outlet, stored, stop=server.stop, start=server.start,
                                   stage=tmp_path / "outage.stage")
    [attempts] = retried_batches(outlet.attempts)   # the batch in flight when the server stopped
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from databay.link import Link
from databay.outlet import Outlet
from databay.planners import SchedulePlanner
from databay.testing._contract import wait_until
from databay.testing.nodes import GrowingInlet, PushAttempt

__all__ = ["retried_batches", "run_through_an_outage"]


def run_through_an_outage(outlet: Outlet, stored: Callable[[], list[int]], *, stop: Callable[[], object],
                          start: Callable[[], object], stage: str | os.PathLike[str],
                          during_outage: float | Callable[[], object] = 2.5, field: str = "seq",
                          interval: float = 0.05, timeout: float = 30.0) -> GrowingInlet:
    """Run a staged link from a :class:`~databay.testing.GrowingInlet` to ``outlet`` under a
    planner, and stop its server once more than 50 numbers are stored: call ``stop()``, wait
    ``during_outage`` seconds (or call it), call ``start()``. The source grows until
    3 seconds after the restart; then every number it produced must be stored.

    :param outlet: The outlet under test, writing payloads ``{field: n}``.
    :param stored: The numbers the server holds now, sorted.
    :param stop: Stops the server.
    :param start: Starts it again, with its data, on the same port.
    :param stage: The link's stage file.
    :param during_outage: Seconds the server stays stopped, or what to do while it is.
    :param timeout: Seconds each wait may take (the first records, every record at the end).
    :returns: The source (``len(source.items)``: how many numbers it produced).
    :raises AssertionError: nothing was stored before the outage, or not everything after it.
    """
    source = GrowingInlet(field)
    planner = SchedulePlanner(Link(source, outlet, interval=interval, stage=stage), ignore_exceptions=True)
    runner = threading.Thread(target=planner.start, name="run_through_an_outage")
    producer = threading.Thread(target=source.produce, name="GrowingInlet.produce", daemon=True)
    producer.start()
    runner.start()
    try:
        assert wait_until(lambda: len(stored()) > 50, timeout, every=0.05), "nothing arrived before the outage"
        outage_began = time.monotonic()
        stop()
        if callable(during_outage):
            during_outage()
        else:
            time.sleep(during_outage)
        start()
        time.sleep(3)
        source.stop_producing()
        producer.join()
        produced = len(source.items)
        assert wait_until(lambda: stored() == list(range(produced)), timeout, every=0.05), (
            f"{produced} numbers produced, {len(stored())} stored {time.monotonic() - outage_began:.1f} s "
            f"after the outage began")
    finally:
        source.stop_producing()
        planner.shutdown()
        runner.join(10)
    return source


def retried_batches(attempts: list[PushAttempt]) -> list[list[PushAttempt]]:
    """The attempts of each batch that was pushed more than once, in order."""
    by_batch: dict[str | None, list[PushAttempt]] = {}
    for attempt in attempts:
        by_batch.setdefault(attempt.batch, []).append(attempt)
    return [batch for batch in by_batch.values() if len(batch) > 1]
