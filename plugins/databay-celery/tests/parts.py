"""Components the cluster tests' pipelines name by import string (``parts:Sequence``); the
test copies this file next to its pipeline file, where every worker process imports it."""

from __future__ import annotations

import json
import os
import sqlite3
import time

from databay import Inlet, Outlet
from databay.notifier import Notifier
from databay.stage import Stage


class Sequence(Inlet):
    """A growing source: ``rate`` numbers a second since ``start`` (Unix time), ``total`` in all;
    each pull returns up to ``batch`` of those not yet read. Its position is the next number."""

    def __init__(self, start: float, rate: float = 100.0, total: int = 1000, batch: int = 50, delay: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.start, self.rate, self.total, self.batch, self.delay = start, rate, total, batch, delay
        self.next = 0

    def pull(self, update):
        if self.delay:
            time.sleep(self.delay)
        produced = min(self.total, int((time.time() - self.start) * self.rate))
        numbers = list(range(self.next, min(produced, self.next + self.batch)))
        self.next += len(numbers)
        return numbers

    def get_state(self):
        return {"next": self.next}

    def set_state(self, state):
        self.next = int(state["next"])


class JsonLines(Outlet):
    """Appends one JSON line per record (one write per push): not idempotent."""

    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def push(self, records, update):
        lines = "".join(json.dumps({"n": r.payload, "id": r.metadata.get(Stage.RECORD_ID), "pid": os.getpid()}) + "\n"
                        for r in records)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode())
        finally:
            os.close(fd)


class SqliteSet(Outlet):
    """Writes each record under its identity, skipping those it has: idempotent."""

    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def push(self, records, update):
        connection = sqlite3.connect(self.path, timeout=60)
        try:
            with connection:
                connection.execute("CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, n INTEGER)")
                connection.executemany("INSERT OR IGNORE INTO records VALUES (?, ?)",
                                       [(r.metadata[Stage.RECORD_ID], r.payload) for r in records])
        finally:
            connection.close()


class Slow(Outlet):
    """Takes ``seconds`` per push and writes down when each push of its link ran, and where."""

    def __init__(self, path: str, seconds: float, **kwargs):
        super().__init__(**kwargs)
        self.path, self.seconds = path, seconds

    def push(self, records, update):
        started = time.time()
        time.sleep(self.seconds)
        line = json.dumps({"start": started, "end": time.time(), "pid": os.getpid(), "update": str(update)})
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


class Marker(Outlet):
    """Writes a line when a push starts and when it ends (``seconds`` later)."""

    def __init__(self, path: str, seconds: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.path, self.seconds = path, seconds

    def _write(self, event: str, update) -> None:
        with open(self.path, "a") as file:
            file.write(json.dumps({"event": event, "pid": os.getpid(), "time": time.time(), "update": str(update)})
                       + "\n")

    def push(self, records, update):
        self._write("start", update)
        time.sleep(self.seconds)
        self._write("end", update)


class FileNotifier(Notifier):
    """Writes each event it is told about as a JSON line (a notifier in a pipeline file)."""

    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def send(self, events, held_back):
        with open(self.path, "a") as file:
            for event in events:
                file.write(json.dumps({"kind": event.kind, "link": event.link, "pid": os.getpid()}) + "\n")


class Broken(Outlet):
    """Fails every push."""

    def push(self, records, update):
        raise ConnectionError("the warehouse is down")
