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

Scheduling lateness, p99: for the Celery planner, how long after its due time each slot's
task was sent (the scheduler's own lateness: what a worker then adds is queueing, which
only says the workers are saturated); for the engine, how long after its due time on the
shared grid each transfer started. The HTTP server runs in a process of its own.
"""

from __future__ import annotations

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
import json, math, sys, threading, time
from databay import hookimpl, load_pipeline
from databay.observers import add_observer

starts = []

class Starts:
    @hookimpl
    def databay_transfer_started(self, link, update):
        starts.append(time.time())

pipeline = load_pipeline(sys.argv[1])
add_observer(Starts())
threading.Timer(float(sys.argv[2]), pipeline.planner.shutdown).start()
pipeline.planner.start()
print(json.dumps(starts))
"""


def pipeline_text(planner: str, port: int) -> str:
    links = "".join(f'[[links]]\ntags = ["l{n}"]\ninterval = "{INTERVAL}s"\nimmediate_transfer = false\n'
                    f'inlets = [{{ use = "http", url = "http://127.0.0.1:{port}/item/{n}", timeout = 60 }}]\n'
                    f'outlets = ["null"]\n\n' for n in range(LINKS))
    return f"[planner]\n{planner}\n\n{links}"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def run_engine(folder: Path, port: int) -> tuple[float, float]:
    """``(transfers per second, lateness p99 in s)`` of the single-process engine."""
    path = folder / "engine.toml"
    path.write_text(pipeline_text('use = "schedule"\nthreads = 30', port))
    duration = WARMUP + WINDOW
    result = subprocess.run([sys.executable, "-c", ENGINE, str(path), str(duration)], capture_output=True,
                            text=True, timeout=duration + 300)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    starts = sorted(json.loads(result.stdout.splitlines()[-1]))
    origin = min(starts)  # the grid's first due time, at the latest: only makes the engine look less late
    lateness = [t - (origin + ((t - origin + 1e-3) // INTERVAL) * INTERVAL) for t in starts]
    counted = [t for t in starts if origin + WARMUP <= t]
    return len(counted) / max(1e-9, starts[-1] - (origin + WARMUP)), p99(lateness)


def run_celery(folder: Path, redis_url: str, port: int, workers: int) -> tuple[float, float, int]:
    """``(completed transfers per second, dispatch lateness p99 in s, tasks sent)`` with ``workers``."""
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
        scheduler = threading.Thread(target=planner.start, daemon=True)
        scheduler.start()
        time.sleep(WARMUP)
        before, started = sum(int(v) for v in client.hvals(completed_key)), time.monotonic()
        time.sleep(WINDOW)
        after, ended = sum(int(v) for v in client.hvals(completed_key)), time.monotonic()
        lateness = list(planner.scheduler.lateness)
        sent = planner.scheduler.sent
        planner.shutdown()
        scheduler.join(30)
        return (after - before) / (ended - started), p99(lateness), sent
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
            lateness: dict[int, float] = {}
            for workers in WORKERS:
                rate, late, sent = run_celery(folder, redis_server.url, port, workers)
                rates[workers], lateness[workers] = rate, late
                print(f"  {workers} worker(s): {rate:.1f} transfers/s, dispatch lateness p99 {late * 1000:.1f} ms, "
                      f"{sent} tasks sent", flush=True)
            engine_rate, engine_late = run_engine(folder, port)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    table = Table(f"{LINKS} links every {INTERVAL}s, inlets waiting {WAIT * 1000:.0f} ms; {WINDOW:g}s measured "
                  f"after {WARMUP:g}s", ["planner", "workers", "transfers/s", "x 1 worker", "lateness p99"])
    for workers in WORKERS:
        table.add_row("celery", str(workers), f"{rates[workers]:.1f}", f"{rates[workers] / rates[1]:.2f}x",
                      f"{lateness[workers] * 1000:.1f} ms (task sent)")
    table.add_row("schedule, one process", "-", f"{engine_rate:.1f}", "-", f"{engine_late * 1000:.1f} ms (started)")
    table.print()
    verdict("completed transfers/s, 4 workers x 1 worker", rates[4] / rates[1], TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
