"""Fixtures of databay-csv's tests: reading CSV files back, and running a planner in a thread."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databay.update import Update


def _read_rows(path: Path, encoding: str = "utf-8", **fmtparams) -> list[dict[str, str]]:
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f, **fmtparams))


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds passed; return whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def read_rows() -> Callable[..., list[dict[str, str]]]:
    """``read_rows(path, encoding='utf-8', **fmtparams)``: the rows of a CSV file as ``csv.DictReader`` reads them."""
    return _read_rows


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    """``wait_until(condition, timeout=10.0)``: poll until ``condition()``; return whether it became true."""
    return _wait_until


@pytest.fixture
def update() -> Update:
    return Update(["test"], 0)


@pytest.fixture
def run_planner() -> Iterator[Callable]:
    """``run_planner(planner)``: start it in a thread and wait until it runs; shut down after the test."""
    started: list = []

    def start(planner) -> threading.Thread:
        thread = threading.Thread(target=planner.start, name="planner-under-test", daemon=True)
        thread.start()
        started.append((planner, thread))
        assert _wait_until(lambda: planner.running or not thread.is_alive()), "the planner did not start"
        return thread

    yield start
    for planner, thread in started:
        if thread.is_alive():
            planner.shutdown(wait=True)
        thread.join(10)
        assert not thread.is_alive(), f"{planner} did not stop"
