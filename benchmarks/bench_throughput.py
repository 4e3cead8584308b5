"""Transfer throughput: 1 inlet returning 1,000 small dict records into 1 and 2 outlets.

Side by side in one run, with ``copy_records=True`` and the very same inlet and outlet
source code for everyone:

- databay, ``Link.transfer()`` on its own (no planner);
- databay, ``Link.transfer()`` while a ``SchedulePlanner`` runs the link, so that the
  transfer runs on the planner's loop, its synchronous pull and pushes in the planner's
  thread pool;
- databay 0.3.0, ``Link.transfer()`` (in ``$DATABAY03_PYTHON``);
- the limit: a plain loop calling the same ``pull`` and ``push`` directly. It wraps each
  dict in a ``Record`` and gives every outlet but the last its own shallow copy of each
  (flat) dict, the least copying that still isolates the outlets from each other; with
  1 outlet it copies nothing.

Target: databay at least 10x databay 0.3.0, with 1 and with 2 outlets.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, median, run_databay03, running_planner, verdict  # noqa: E402

RECORDS = 1000
ROUNDS = 3  # databay 0.3.0 and databay take turns, so that the machine's noise hits both
REPEATS = 3  # timed repeats per round
TARGET = 10.0

# Run unchanged under this repository's databay and under databay 0.3.0.
NODES = f"""
import datetime
import time

from databay import Inlet, Link, Outlet

RECORDS = {RECORDS}


class DictInlet(Inlet):
    def pull(self, update):
        return [{{"id": i, "name": "item", "value": i * 0.5}} for i in range(RECORDS)]


class CountOutlet(Outlet):
    def __init__(self):
        super().__init__()
        self.pushed = 0

    def push(self, records, update):
        self.pushed += len(records)


def make_link(outlets):
    return Link(DictInlet(), [CountOutlet() for _ in range(outlets)],
                interval=datetime.timedelta(seconds=3600), copy_records=True)


def rates(transfer, count, repeats):
    transfer()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            transfer()
        out.append(count / (time.perf_counter() - start))
    return out


def check(link, transfers):
    for outlet in link.outlets:
        assert outlet.pushed == transfers * RECORDS, (outlet.pushed, transfers)
"""

DATABAY03_CODE = NODES + f"""
import json
result = {{}}
for outlets in (1, 2):
    link = make_link(outlets)
    result[outlets] = rates(link.transfer, 20, {REPEATS})
    check(link, 1 + 20 * {REPEATS})
print(json.dumps(result))
"""

namespace: dict = {}
exec(compile(NODES, "<bench nodes>", "exec"), namespace)
DictInlet, make_link, rates, check = (namespace[n] for n in ("DictInlet", "make_link", "rates", "check"))


def databay_standalone(outlets: int) -> list[float]:
    link = make_link(outlets)
    result = rates(link.transfer, 100, REPEATS)
    check(link, 1 + 100 * REPEATS)
    return result


def databay_engine(outlets: int) -> list[float]:
    """``Link.transfer()`` from this thread while a planner runs the link on its loop."""
    link = make_link(outlets)
    with running_planner(link):
        result = rates(link.transfer, 100, REPEATS)
    check(link, 1 + 100 * REPEATS)
    return result


def plain_loop(outlets: int) -> list[float]:
    from databay import Record

    inlet = DictInlet()
    link = make_link(outlets)
    sinks = link.outlets
    last = len(sinks) - 1

    def transfer() -> None:
        records = [Record(payload) for payload in inlet.pull(None)]
        for index, outlet in enumerate(sinks):
            if index == last:
                outlet.push(records, None)
            else:
                outlet.push([Record(dict(r.payload)) for r in records], None)

    result = rates(transfer, 1000, REPEATS)
    check(link, 1 + 1000 * REPEATS)
    return result


def main() -> int:
    have_old = databay03_python() is not None
    if not have_old:
        print("DATABAY03_PYTHON is not set (run through benchmarks/run.py): no databay 0.3.0 figures")
    measures = {"ours": databay_standalone, "engine": databay_engine, "limit": plain_loop}
    samples: dict[tuple[str, int], list[float]] = {}
    for round_ in range(ROUNDS):
        print(f"Round {round_ + 1} of {ROUNDS} ...", flush=True)
        if have_old:
            for outlets, values in run_databay03(DATABAY03_CODE).items():
                samples.setdefault(("old", int(outlets)), []).extend(values)
        for outlets in (1, 2):
            for name, measure in measures.items():
                samples.setdefault((name, outlets), []).extend(measure(outlets))
    ok = True
    table = Table(
        f"Transfers/s, 1 inlet x {RECORDS:,} dict records, copy_records=True "
        f"(median of {ROUNDS} rounds x {REPEATS})",
        ["outlets", "databay Link.transfer", "databay in planner", "databay 0.3.0", "plain loop",
         "x 0.3.0", "planner x 0.3.0", "of plain loop"],
    )
    results = {}
    for outlets in (1, 2):
        ours, engine, limit = (median(samples[(name, outlets)]) for name in ("ours", "engine", "limit"))
        base = median(samples[("old", outlets)]) if have_old else None
        results[outlets] = (ours, engine, base)
        table.add_row(
            outlets, ours, engine, base if base else "-", limit,
            f"{ours / base:.1f}x" if base else "-", f"{engine / base:.1f}x" if base else "-",
            f"{ours / limit:.2f}",
        )
    table.print()
    for outlets, (ours, _, base) in results.items():
        if base:
            ok &= verdict(f"throughput, {outlets} outlet(s), databay Link.transfer / databay 0.3.0",
                          ours / base, TARGET)
    for outlets, (_, engine, base) in results.items():
        if base:
            print(f"(for information) {outlets} outlet(s), databay in a running planner / databay 0.3.0: "
                  f"{engine / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
