"""Scale-out with databay-celery: completed transfers per second with 1, 2 and 4 workers.

2,000 links due every 10 s, each with one ``HttpInlet`` whose request a local HTTP server
answers after 50 ms, and a null outlet; one pipeline file. Side by side in one run:

- databay-celery: a scheduler (``CeleryPlanner``, run in this process so that its dispatch
  lateness can be read) and 1, 2 or 4 ``databay worker`` processes with ``--concurrency 1``,
  on a local ``redis-server``. Each worker runs one transfer at a time (about 50 ms of
  waiting plus the task's overhead), far fewer than the 200 a second the links ask for, so
  the figure is the workers' capacity: completed transfers per second over ``WINDOW``
  seconds after a warm-up. Target: 4 workers at least 3.2x one worker.
- the single-process engine (``SchedulePlanner``, the same file with ``use = "schedule"``)
  in its own process: it waits for all 2,000 requests concurrently on one loop, so it
  keeps up with the links (200 transfers a second).

Lateness, the same measure for both: how long after its slot's due time each transfer
**started**, where it ran. For databay-celery, on the worker, as the task's transfer begins
(the ``late`` of each ``transfer`` task's result, read from the workers' Celery events): it
includes the scheduler's dispatch and the time the task waited in the queue. For the engine,
in its process, when ``databay_transfer_started`` fires, against the link's own grid (its next
due time, known to the planner as the transfer starts, less one interval). Medians and p99
of the transfers that started in the measured window. The Celery scheduler's own lateness
(slot due -> task sent) is printed beside it. The HTTP server runs in a process of its own.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, verdict  # noqa: E402

LINKS = int(os.environ.get("CELERY_BENCH_LINKS", "2000"))
INTERVAL = 10
WAIT = 0.05
WARMUP = float(os.environ.get("CELERY_BENCH_WARMUP", "12"))
WINDOW = float(os.environ.get("CELERY_BENCH_WINDOW", "20"))
WORKERS = (1, 2, 4)
TARGET = 3.2
DATABAY = shutil.which("databay", path=str(Path(sys.executable).parent)) or "databay"

SERVER = """
import asyncio, socket, sys
from aiohttp import web

WAIT = float(sys.argv[1])

async def item(request):
    await asyncio.sleep(WAIT)
    return web.json_response({"id": int(request.match_info["n"])})

app = web.Application()
app.router.add_get("/item/{n}", item)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True, backlog=4096)
"""

ENGINE = """
import json, sys, threading, time
from databay import hookimpl, load_pipeline
from databay.observers import add_observer

INTERVAL = float(sys.argv[3])
starts = []  # (wall time, seconds after the due time of its slot)

class Starts:
    @hookimpl
    def databay_transfer_started(self, link, update):
        now = time.monotonic()
        following = pipeline.planner.next_due(link)  # the engine moved the link on as the slot fell due
        starts.append((time.time(), now - (following - INTERVAL)))

pipeline = load_pipeline(sys.argv[1])
add_observer(Starts())
threading.Timer(float(sys.argv[2]), pipeline.planner.shutdown).start()
began = time.time()
pipeline.planner.start()
print(json.dumps({"began": began, "starts": starts}))
"""


class TaskStarts:
    """The workers' Celery events, read in a thread: for each transfer a task ran, when it
    ended (wall time) and how late it started (``late`` in the task's result)."""

    def __init__(self, redis_url: str):
        from celery import Celery

        self.app = Celery(broker=redis_url, set_as_current=False)
        self.starts: list[tuple[float, float]] = []
        self._connection = self.app.connection_for_read()
        self._receiver = self.app.events.Receiver(self._connection, handlers={"task-succeeded": self._succeeded})
        self._thread = threading.Thread(target=self._receiver.capture, kwargs={"limit": None, "timeout": None},
                                        daemon=True)

    def _succeeded(self, event: dict) -> None:
        result = ast.literal_eval(event["result"])
        if result.get("outcome") == "transferred":
            self.starts.append((event["timestamp"], result["late"]))

    def __enter__(self) -> TaskStarts:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._receiver.should_stop = True
        self._thread.join(10)
        self._connection.release()


def pipeline_text(planner: str, port: int) -> str:
    links = "".join(f'[[links]]\ntags = ["l{n}"]\ninterval = "{INTERVAL}s"\nimmediate_transfer = false\n'
                    f'inlets = [{{ use = "http", url = "http://127.0.0.1:{port}/item/{n}", timeout = 60 }}]\n'
                    f'outlets = ["null"]\n\n' for n in range(LINKS))
    return f"[planner]\n{planner}\n\n{links}"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def ms(values: list[float], q: float) -> str:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    return f"{quantile(values, q) * 1000:,.0f} ms"


def in_window(starts: list[tuple[float, float]], begin: float, end: float) -> list[float]:
    """The lateness of the transfers of ``starts`` (``(wall time, lateness)``) between ``begin`` and ``end``."""
    return [late for at, late in starts if begin <= at <= end]


def run_engine(folder: Path, port: int) -> tuple[float, list[float]]:
    """``(transfers per second, lateness of each transfer started in the window)`` of the
    single-process engine."""
    path = folder / "engine.toml"
    path.write_text(pipeline_text('use = "schedule"\nthreads = 30', port))
    duration = WARMUP + WINDOW
    result = subprocess.run([sys.executable, "-c", ENGINE, str(path), str(duration), str(INTERVAL)],
                            capture_output=True, text=True, timeout=duration + 300)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    run = json.loads(result.stdout.splitlines()[-1])
    starts = [(at, late) for at, late in run["starts"]]
    begin, end = run["began"] + WARMUP, max(at for at, _ in starts)  # the window, from the planner's start
    lateness = in_window(starts, begin, end)
    return len(lateness) / max(1e-9, end - begin), lateness


def run_celery(folder: Path, redis_url: str, port: int, workers: int) -> tuple[float, list[float], list[float]]:
    """``(completed transfers per second, lateness of each transfer started in the window,
    the scheduler's dispatch lateness of each task it sent)`` with ``workers``."""
    import redis
    from databay import load_pipeline
    from databay_celery.app import make_app

    name = f"bench{workers}"
    path = folder / f"{name}.toml"
    path.write_text(pipeline_text(f'use = "celery"\nbroker = "{redis_url}"\nname = "{name}"', port))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [open(folder / f"{name}-worker{i}.log", "w") for i in range(workers)]
    processes = [subprocess.Popen([DATABAY, "worker", str(path), "-c", "1"], stdout=log, stderr=subprocess.STDOUT,
                                  env=env, cwd=folder) for log in logs]
    client = redis.Redis.from_url(redis_url)
    completed_key = f"databay:celery:{{{name}}}:completed"
    try:
        pipeline = load_pipeline(path)
        planner = pipeline.planner
        control = make_app(planner.settings).control
        deadline = time.monotonic() + 300
        while len(control.ping(timeout=1.0)) < workers:  # every worker up, its links started
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"workers did not start: see {folder}")
        with TaskStarts(redis_url) as tasks:
            scheduler = threading.Thread(target=planner.start, daemon=True)
            scheduler.start()
            time.sleep(WARMUP)
            before, started, begin = sum(int(v) for v in client.hvals(completed_key)), time.monotonic(), time.time()
            time.sleep(WINDOW)
            after, ended, end = sum(int(v) for v in client.hvals(completed_key)), time.monotonic(), time.time()
            dispatch = list(planner.scheduler.lateness)
            planner.shutdown()
            scheduler.join(30)
            time.sleep(1)  # the events of the window's last tasks
        return (after - before) / (ended - started), in_window(tasks.starts, begin, end), dispatch
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        client.close()


def main() -> int:
    from databay_celery.redis_server import RedisServer

    if not RedisServer.available():
        print("redis-server is not installed (Debian package 'redis-server'): bench_celery skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as name, RedisServer() as redis_server:
        folder = Path(name)
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(WAIT)], stdout=subprocess.PIPE, text=True)
        try:
            port = int(server.stdout.readline())  # type: ignore[union-attr]
            rates: dict[int, float] = {}
            lateness: dict[int, list[float]] = {}
            dispatch: dict[int, list[float]] = {}
            for workers in WORKERS:
                rates[workers], lateness[workers], dispatch[workers] = run_celery(folder, redis_server.url, port,
                                                                                  workers)
                print(f"  {workers} worker(s): {rates[workers]:.1f} transfers/s, start lateness "
                      f"{ms(lateness[workers], 0.5)} median, {ms(lateness[workers], 0.99)} p99; task sent "
                      f"{ms(dispatch[workers], 0.99)} p99 ({len(dispatch[workers])} tasks)", flush=True)
            engine_rate, engine_late = run_engine(folder, port)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    table = Table(f"{LINKS} links every {INTERVAL}s, inlets waiting {WAIT * 1000:.0f} ms; {WINDOW:g}s measured "
                  f"after {WARMUP:g}s; lateness: due time -> transfer started, where it ran",
                  ["planner", "workers", "transfers/s", "x 1 worker", "lateness median", "lateness p99",
                   "task sent p99"])
    for workers in WORKERS:
        table.add_row("celery", str(workers), f"{rates[workers]:.1f}", f"{rates[workers] / rates[1]:.2f}x",
                      ms(lateness[workers], 0.5), ms(lateness[workers], 0.99), ms(dispatch[workers], 0.99))
    table.add_row("schedule, one process", "-", f"{engine_rate:.1f}", "-", ms(engine_late, 0.5),
                  ms(engine_late, 0.99), "-")
    table.print()
    verdict("completed transfers/s, 4 workers x 1 worker", rates[4] / rates[1], TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
