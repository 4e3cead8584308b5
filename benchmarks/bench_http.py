"""HttpInlet: one link with 100 HttpInlets against a local HTTP server.

Side by side in one run, against the same server, each round timing the same number of
transfers (100 GETs each, every response a small JSON object parsed into a record):

- the limit: raw aiohttp, 100 concurrent GETs (``asyncio.gather``) on one shared
  ``ClientSession``, each response read and parsed with ``json.loads``;
- databay: ``Link.transfer()`` of one link with 100 ``HttpInlet`` (one URL each) and a
  ``NullOutlet``, started with ``link.on_start()`` (no planner);
- databay in a running ``SchedulePlanner``: the same ``Link.transfer()``, run on the
  planner's loop;
- databay 0.3.0: the same link with its own ``HttpInlet`` (in ``$DATABAY03_PYTHON``).

The server is aiohttp.web in a process of its own, started by this script on a free
loopback port: on a separate process it has its own interpreter lock and (with 2 cores)
its own core, so the time it takes to answer is the same for every client and does not
come out of the client's loop. Everyone runs after a warm-up transfer, with connections
already open where the client keeps them (databay 0.3.0 opens a session per pull).

Measured: wall time per transfer, and the client's CPU time per transfer
(``time.process_time()`` of the client's process; the server's is excluded).

Target: databay within 1.25x of raw (wall time per 100 GETs).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, median, run_databay03, running_planner, verdict  # noqa: E402

INLETS = 100
TRANSFERS = 20  # timed per round
ROUNDS = 7
TARGET = 1.25

SERVER = """
import socket, sys
from aiohttp import web

ITEM = b'{"id": 1, "name": "item", "done": false, "tags": ["a", "b"], "value": 0.5}'

async def item(request):
    return web.Response(body=ITEM, content_type="application/json")

app = web.Application()
app.router.add_get("/item/{n}", item)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)
"""


def urls(base: str) -> list[str]:
    return [f"{base}/item/{n}" for n in range(INLETS)]


def measure_raw(base: str) -> list[tuple[float, float]]:
    import aiohttp

    targets = urls(base)

    async def main() -> list[tuple[float, float]]:
        async with aiohttp.ClientSession() as session:

            async def fetch(url: str):
                async with session.get(url) as response:
                    return json.loads(await response.read())

            async def transfer() -> None:
                results = await asyncio.gather(*(fetch(url) for url in targets))
                assert len(results) == INLETS

            await transfer()  # warm-up: opens the connections
            times = []
            for _ in range(TRANSFERS):
                wall, cpu = time.perf_counter(), time.process_time()
                await transfer()
                times.append((time.perf_counter() - wall, time.process_time() - cpu))
            return times

    return asyncio.run(main())


def make_link(base: str):
    from databay import Link
    from databay.outlets import NullOutlet
    from databay_http import HttpInlet

    return Link([HttpInlet(url) for url in urls(base)], NullOutlet(), interval=3600)


def time_transfers(link) -> list[tuple[float, float]]:
    link.transfer()  # warm-up: opens the connections
    times = []
    for _ in range(TRANSFERS):
        wall, cpu = time.perf_counter(), time.process_time()
        stats = link.transfer()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
        assert stats.records_pulled == INLETS, stats
    return times


def measure_databay(base: str) -> list[tuple[float, float]]:
    link = make_link(base)
    link.on_start()
    try:
        return time_transfers(link)
    finally:
        link.on_shutdown()


def measure_databay_planner(base: str) -> list[tuple[float, float]]:
    link = make_link(base)
    with running_planner(link):
        return time_transfers(link)


DATABAY03 = """
import datetime, json, time
from databay import Link
from databay.inlets import HttpInlet
from databay.outlets import NullOutlet

BASE, INLETS, TRANSFERS = {base!r}, {inlets}, {transfers}
link = Link([HttpInlet(f"{{BASE}}/item/{{n}}") for n in range(INLETS)], NullOutlet(),
            datetime.timedelta(seconds=3600))
link.on_start()
link.transfer()
times = []
for _ in range(TRANSFERS):
    wall, cpu = time.perf_counter(), time.process_time()
    link.transfer()
    times.append((time.perf_counter() - wall, time.process_time() - cpu))
link.on_shutdown()
print(json.dumps(times))
"""


def measure_databay03(base: str) -> list[tuple[float, float]]:
    return run_databay03(DATABAY03.format(base=base, inlets=INLETS, transfers=TRANSFERS))


def main() -> int:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        measure = {"raw": measure_raw, "databay": measure_databay, "planner": measure_databay_planner}
        if databay03_python() is not None:
            measure["databay03"] = measure_databay03
        times: dict[str, list[tuple[float, float]]] = {key: [] for key in measure}
        # Interleaved rounds, so that the machine's noise hits everyone alike.
        for _ in range(ROUNDS):
            for key, fn in measure.items():
                times[key].extend(fn(base))
    finally:
        server.terminate()
        server.wait(10)

    ms = {key: median(wall for wall, _ in values) * 1000 for key, values in times.items()}
    cpu = {key: median(c for _, c in values) * 1000 for key, values in times.items()}
    labels = {"raw": "raw aiohttp: 100 concurrent GETs, one ClientSession (limit)",
              "databay": "databay Link.transfer(), 100 HttpInlets",
              "planner": "databay, same, in a running SchedulePlanner",
              "databay03": "databay 0.3.0 Link.transfer(), 100 HttpInlets"}
    table = Table(f"HTTP: one transfer of {INLETS} GETs against a local aiohttp.web server "
                  f"(median of {ROUNDS} rounds x {TRANSFERS} transfers)",
                  ["client", "ms per 100 GETs", "x raw", "client CPU ms", "x raw CPU"])
    for key in ms:
        table.add_row(labels[key], ms[key], f"{ms[key] / ms['raw']:.2f}x", cpu[key], f"{cpu[key] / cpu['raw']:.2f}x")
    table.print()
    if "databay03" in ms:
        print(f"databay vs databay 0.3.0: {ms['databay03'] / ms['databay']:.2f}x faster")
    ok = verdict("http, databay time / raw time", ms["databay"] / ms["raw"], TARGET, higher_is_better=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
