"""Generic fixtures for core's unit tests: running planners in threads and waiting on conditions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from databay.plugins import reset_plugin_manager


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout=5.0)``: poll until ``condition()`` is true; return whether it became so."""
    return _wait_until


@pytest.fixture
def run_planner():
    """``run_planner(planner)``: start ``planner`` in a thread, wait until it runs, return the thread.

    Every planner started this way is shut down (and its thread joined) after the test.
    """
    started: list = []

    def start(planner, wait_running: bool = True) -> threading.Thread:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                planner.start()
            except BaseException as exc:  # noqa: BLE001 - reported through thread.errors
                errors.append(exc)

        thread = threading.Thread(target=target, name="planner-under-test", daemon=True)
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        started.append((planner, thread))
        if wait_running:
            assert _wait_until(lambda: planner.running or not thread.is_alive()), "planner never started"
        return thread

    yield start
    for planner, thread in started:
        if thread.is_alive():
            planner.shutdown(wait=True)
        thread.join(10)
        assert not thread.is_alive(), f"{planner} did not stop"


@pytest.fixture
def clean_plugins(monkeypatch):
    """A fresh process-wide plugin manager, loaded from the environment this test sets."""
    monkeypatch.delenv("DATABAY_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("DATABAY_STRICT_PLUGINS", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()
