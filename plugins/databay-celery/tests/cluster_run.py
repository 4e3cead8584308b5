"""Running a pipeline's cluster for the tests: real ``databay worker`` and ``databay run``
processes (the installed CLI), and a listener for the Celery events they send."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

HERE = Path(__file__).parent
DATABAY = shutil.which("databay", path=str(Path(sys.executable).parent)) or "databay"

PLANNER = """
[planner]
use = "celery"
broker = "${{REDIS_URL}}"
name = "{name}"
lease_seconds = 2
leader_seconds = 2
poll_seconds = 0.3
visibility_timeout = 4
inflight_seconds = {inflight_seconds}
"""


def celery_pipeline(name: str, links: str, inflight_seconds: float = 10) -> str:
    """The text of a pipeline of ``links`` (TOML) under the celery planner ``name``, with short
    leases and timeouts so that a takeover or a redelivery shows within seconds."""
    return PLANNER.format(name=name, inflight_seconds=inflight_seconds) + links


def wait_for(condition: Callable[[], object], timeout: float = 60.0) -> bool:
    """Poll ``condition`` every 0.1 s until it is true (then ``True``) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


class Cluster:
    """Workers and schedulers of the pipeline ``text`` (written to ``folder/pipeline.toml``)."""

    def __init__(self, folder: Path, text: str, redis_url: str, name: str, env: dict[str, str] | None = None):
        self.folder, self.redis_url, self.name = folder, redis_url, name
        shutil.copy(HERE / "parts.py", folder / "parts.py")
        self.pipeline = folder / "pipeline.toml"
        self.pipeline.write_text(text)
        self.env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.workers: list[subprocess.Popen] = []
        self.schedulers: list[subprocess.Popen] = []
        self.redis = redis.Redis.from_url(redis_url)
        self.prefix = f"databay:celery:{{{name}}}:"
        self._logs: list[Any] = []

    def _start(self, *arguments: str) -> subprocess.Popen:
        log = open(self.folder / f"{arguments[0]}-{len(self._logs)}.log", "w")
        self._logs.append(log)
        return subprocess.Popen([DATABAY, *arguments], cwd=self.folder, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, concurrency: int = 1) -> subprocess.Popen:
        process = self._start("worker", str(self.pipeline), "-c", str(concurrency))
        self.workers.append(process)
        return process

    def start_scheduler(self) -> subprocess.Popen:
        process = self._start("run", str(self.pipeline), "--no-live")
        self.schedulers.append(process)
        return process

    def leader_pid(self) -> int | None:
        token = self.redis.get(self.prefix + "leader")
        if token is None:
            return None
        return int(token.decode().split(" pid ")[1].split()[0])

    def wait_for_leader(self, timeout: float = 60.0, other_than: int | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.leader_pid()
            if pid is not None and pid != other_than:
                return pid
            time.sleep(0.05)
        raise AssertionError(f"no scheduler leads after {timeout}s:\n{self.logs()}")

    def counts(self, what: str) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.redis.hgetall(self.prefix + what).items()}

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait()

    def logs(self) -> str:
        for log in self._logs:
            if not log.closed:
                log.flush()
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        processes = [p for p in self.schedulers + self.workers if p.poll() is None]
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        self.redis.close()


class Events:
    """Celery events of a broker, collected in a thread (what Flower reads)."""

    def __init__(self, redis_url: str):
        from celery import Celery

        self.app = Celery(broker=redis_url, set_as_current=False)
        self.events: list[dict] = []
        self._connection = self.app.connection_for_read()
        self._receiver = self.app.events.Receiver(self._connection, handlers={"*": self.events.append})
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self._ready.set()
        self._receiver.capture(limit=None, timeout=None, wakeup=True)

    def __enter__(self) -> Events:
        self._thread.start()
        self._ready.wait(5)
        time.sleep(0.5)  # the receiver's queue is bound
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._receiver.should_stop = True
        self._thread.join(5)
        self._connection.release()

    def of(self, kind: str) -> list[dict]:
        return [event for event in list(self.events) if event.get("type") == kind]

    def received_slots(self) -> dict[str, tuple[str, float]]:
        """``{task id: (link, due)}`` of every task a worker received (a task given again has its id)."""
        return {event["uuid"]: tuple(ast.literal_eval(event["args"])) for event in self.of("task-received")}
