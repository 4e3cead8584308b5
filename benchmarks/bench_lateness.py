"""Scheduling lateness: how late transfers start, with 1,000 and 10,000 links at 1 s.

Lateness of a link's k-th transfer is its actual start (the time its inlet's ``pull``
begins) minus its ideal time, the link's first transfer plus k intervals; a transfer
skipped because the previous one still ran shows up as a late one. Every scenario runs
in its own process for ``DURATION`` seconds (at least 10) and reports p50, p99 and max
lateness over all transfers of all links, and the CPU seconds the process used meanwhile:

- the floor: a bare asyncio loop whose ``loop.call_at`` callbacks record the time and
  re-arm themselves at their ideal times (no databay, no thread pool);
- databay's ``SchedulePlanner`` (and ``ApsPlanner`` when databay-aps is installed);
- databay 0.3.0's ``SchedulePlanner`` and ``ApsPlanner`` (in ``$DATABAY03_PYTHON``).

1,000 links have synchronous no-op inlets and outlets, 10,000 links asynchronous ones.
Every planner starts with ``immediate_transfer=False``, so all links are due together,
once a second. databay 0.3.0 with 10,000 links is given ``DURATION + 120`` s to finish;
if it doesn't, the table says so.

Targets: databay's p99 (its engine, as ``SchedulePlanner`` runs it) at most 10 ms with
1,000 links and at most 25 ms with 10,000; ``ApsPlanner``'s figures are for information.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, verdict  # noqa: E402

DURATION = float(os.environ.get("LATENESS_DURATION", "12"))
INTERVAL = 1.0
TARGETS_MS = {1000: 10.0, 10000: 25.0}

# Runs in a fresh process; PARAMS is prepended as a JSON literal.
SCENARIO = """
import asyncio
import json
import statistics
import sys
import threading
import time

N, INTERVAL, DURATION, KIND, PLANNER = PARAMS["n"], PARAMS["interval"], PARAMS["duration"], \\
    PARAMS["kind"], PARAMS["planner"]
starts = [[] for _ in range(N)]


def floor():
    loop = asyncio.new_event_loop()

    def fire(i, due):
        starts[i].append(time.monotonic())
        loop.call_at(due + INTERVAL, fire, i, due + INTERVAL)

    first = loop.time() + INTERVAL
    for i in range(N):
        loop.call_at(first, fire, i, first)
    cpu = time.process_time()
    loop.call_later(DURATION, loop.stop)
    loop.run_forever()
    return time.process_time() - cpu, time.monotonic()


def planner_run():
    import logging

    from databay import Inlet, Link, Outlet
    import databay.planners as planners

    logging.getLogger("databay").setLevel(logging.ERROR)

    if KIND == "sync":
        class BenchInlet(Inlet):
            def __init__(self, i):
                super().__init__()
                self.i = i

            def pull(self, update):
                starts[self.i].append(time.monotonic())
                return 1

        class BenchOutlet(Outlet):
            def push(self, records, update):
                pass
    else:
        class BenchInlet(Inlet):
            def __init__(self, i):
                super().__init__()
                self.i = i

            async def pull(self, update):
                starts[self.i].append(time.monotonic())
                return 1

        class BenchOutlet(Outlet):
            async def push(self, records, update):
                pass

    links = [Link(BenchInlet(i), BenchOutlet(), interval=INTERVAL, tags=f"l{i}") for i in range(N)]
    planner = getattr(planners, PLANNER)(links, immediate_transfer=False)
    cpu = time.process_time()
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    time.sleep(DURATION)
    end = time.monotonic()
    planner.shutdown(wait=False)
    cpu = time.process_time() - cpu
    thread.join(60)
    return cpu, end


cpu, end = floor() if PLANNER == "floor" else planner_run()
late = []
for times in starts:
    for k in range(1, len(times)):
        late.append(times[k] - (times[0] + k * INTERVAL))
late.sort()
# Transfers due after each link's first one, counted from the first transfer of all.
first = min((times[0] for times in starts if times), default=end)
expected = N * (int((end - first) / INTERVAL))
result = {
    "p50": 1000 * late[len(late) // 2] if late else None,
    "p99": 1000 * late[min(len(late) - 1, int(len(late) * 0.99))] if late else None,
    "max": 1000 * late[-1] if late else None,
    "transfers": len(late),
    "expected": expected,
    "cpu": cpu,
}
print(json.dumps(result))
"""


def run_scenario(python: str, n: int, kind: str, planner: str, timeout: float) -> dict | str:
    """Run one scenario in a fresh ``python`` process; its result, or why there is none."""
    params = {"n": n, "interval": INTERVAL, "duration": DURATION, "kind": kind, "planner": planner}
    code = f"PARAMS = {json.dumps(params)}\n{SCENARIO}"
    try:
        result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout:.0f} s"
    if result.returncode != 0:
        return f"failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def our_aps_available() -> bool:
    try:
        from databay.planners import ApsPlanner  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    old = databay03_python()
    aps = our_aps_available()
    if not aps:
        print("databay-aps is not installed: no figures for databay's ApsPlanner")
    for n, kind in ((1000, "sync"), (10000, "async")):
        runs: list[tuple[str, str, str, float]] = [
            ("floor: bare loop.call_at", sys.executable, "floor", DURATION + 60),
            ("databay SchedulePlanner", sys.executable, "SchedulePlanner", DURATION + 60),
        ]
        if aps:
            runs.append(("databay ApsPlanner", sys.executable, "ApsPlanner", DURATION + 60))
        if old:
            limit = DURATION + (60 if n <= 1000 else 120)
            runs += [("databay 0.3.0 SchedulePlanner", old, "SchedulePlanner", limit),
                     ("databay 0.3.0 ApsPlanner", old, "ApsPlanner", limit)]
        table = Table(
            f"Lateness, {n:,} links ({kind} no-op inlet and outlet), interval {INTERVAL:g} s, "
            f"{DURATION:g} s",
            ["scheduler", "p50 ms", "p99 ms", "max ms", "transfers", "CPU s", "p99 x floor"],
        )
        results = {}
        for label, python, planner, timeout in runs:
            print(f"  {n:,} links: {label} ...", flush=True)
            results[label] = run_scenario(python, n, kind, planner, timeout)
        floor = results["floor: bare loop.call_at"]
        for label, result in results.items():
            if isinstance(result, str) or result["p99"] is None:
                table.add_row(label, result if isinstance(result, str) else "no transfers",
                              "-", "-", "-", "-", "-")
                continue
            ratio = (f"{result['p99'] / floor['p99']:.1f}x"
                     if isinstance(floor, dict) and floor["p99"] else "-")
            table.add_row(label, result["p50"], result["p99"], result["max"], result["transfers"],
                          result["cpu"], ratio)
        table.print()
        for label, result in results.items():
            if isinstance(result, dict) and result["transfers"] < 0.8 * result["expected"]:
                print(f"{label}: fell behind, ran {100 * result['transfers'] / result['expected']:.0f}% "
                      f"of the transfers due in {DURATION:g} s (lateness counts only those it ran)")
        # The targets are the engine's (SchedulePlanner); ApsPlanner's figures are for
        # information: APScheduler's own bookkeeping per due job comes on top.
        result = results.get("databay SchedulePlanner")
        if isinstance(result, dict) and result["p99"] is not None:
            verdict(f"databay SchedulePlanner p99 lateness ms, {n:,} links", result["p99"], TARGETS_MS[n],
                    higher_is_better=False)
        else:
            print(f"TARGET databay SchedulePlanner p99 lateness, {n:,} links: no result -> NOT MET")
        aps, old_aps = results.get("databay ApsPlanner"), results.get("databay 0.3.0 ApsPlanner")
        if isinstance(aps, dict) and aps["p99"] is not None:
            than_old = (f", databay 0.3.0's ApsPlanner {old_aps['p99']:.0f} ms"
                        if isinstance(old_aps, dict) and old_aps["p99"] is not None else "")
            print(f"(for information) databay ApsPlanner p99 lateness, {n:,} links: {aps['p99']:.1f} ms{than_old}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
