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

Where the link runs in another process (``databay run`` in a subprocess), a pipeline can
name :class:`SwitchedOutlet` (``"databay.testing:SwitchedOutlet"``): an outlet that is down
until the test creates a file, so that the test decides when deliveries fail.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from databay.link import Link
from databay.outlet import Outlet
from databay.planners import SchedulePlanner
from databay.record import Record
from databay.testing._contract import wait_until
from databay.testing.nodes import GrowingInlet, PushAttempt
from databay.update import Update

__all__ = ["SwitchedOutlet", "retried_batches", "run_through_an_outage"]


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


class SwitchedOutlet(Outlet):
    """An outlet whose server is down unless a file named ``switch`` exists, so that a test
    can start and end an outage of a link that runs in another process. While it is up,
    each push appends its records' payloads to the file ``path``, as JSON, one a line.
    Relative paths are in the working directory::

        [[links]]
        stage = "state/orders.stage"
        outlets = [{ use = "databay.testing:SwitchedOutlet", error = "warehouse down" }]

    :param path: The file the payloads are appended to.
    :param switch: The file whose existence means the server is up.
    :param error: The text of the ``ConnectionError`` each push raises while it is down.
    """

    def __init__(self, path: str = "delivered.jsonl", switch: str = "up", error: str = "down", **kwargs: Any):
        super().__init__(**kwargs)
        self.path, self.switch, self.error = path, switch, error

    def push(self, records: list[Record], update: Update) -> None:
        if not os.path.exists(self.switch):
            raise ConnectionError(self.error)
        with open(self.path, "a", encoding="utf-8") as file:
            file.writelines(json.dumps(record.payload) + "\n" for record in records)
