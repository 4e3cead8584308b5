"""The link bench_throughput and bench_stage time: 1 inlet of 1,000 small dicts into outlets that count.

It imports only what databay 0.3.0 has too, so that bench_throughput runs this very code
under both databays (``run_databay03`` runs in this folder).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

from databay import Inlet, Link, Outlet

RECORDS = 1000


class DictInlet(Inlet):
    def pull(self, update):
        return [{"id": i, "name": "item", "value": i * 0.5} for i in range(RECORDS)]


class CountOutlet(Outlet):
    def __init__(self):
        super().__init__()
        self.pushed = 0

    def push(self, records, update):
        self.pushed += len(records)


def make_link(outlets: int, **options: Any) -> Link:
    """A ``DictInlet`` into ``outlets`` ``CountOutlet``s, ``copy_records=True``; ``options`` go to ``Link``."""
    return Link(DictInlet(), [CountOutlet() for _ in range(outlets)], interval=datetime.timedelta(hours=1),
                copy_records=True, **options)


def transfer_rates(link: Link, count: int, repeats: int,
                   transfer: Callable[[], Any] | None = None) -> list[float]:
    """Transfers/s of ``repeats`` runs of ``count`` transfers, after one unmeasured.

    ``transfer`` runs one transfer (default ``link.transfer``); then every outlet of
    ``link`` must have received every record.
    """
    transfer = transfer or link.transfer
    transfer()  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            transfer()
        rates.append(count / (time.perf_counter() - start))
    for outlet in link.outlets:
        assert outlet.pushed == (1 + count * repeats) * RECORDS, (outlet.pushed, count, repeats)
    return rates
