"""Running planners in threads for the tests, and waiting on conditions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout=5.0)``: poll until ``condition()`` is true; return whether it became so."""
    return _wait_until


@pytest.fixture
def run_planner():
    """``run_planner(planner)``: start ``planner`` in a thread, wait until it runs, return the thread.

    Every planner started this way is shut down (and its thread joined) after the test;
    ``thread.errors`` holds whatever ``start()`` raised.
    """
    started: list = []

    def start(planner, wait_running: bool = True) -> threading.Thread:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                planner.start()
            except BaseException as exc:  # noqa: BLE001 - reported through thread.errors
                errors.append(exc)

        thread = threading.Thread(target=target, name="aps-planner-under-test", daemon=True)
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        started.append((planner, thread))
        if wait_running:
            assert _wait_until(lambda: planner.running or not thread.is_alive()), "planner never started"
        return thread

    yield start
    for planner, thread in started:
        if thread.is_alive():
            planner.shutdown(wait=False)
            thread.join(10)
