"""Fixtures for core's unit tests (``run_planner`` and ``wait_until`` come from databay's
own pytest plugin, :mod:`databay.testing.pytest_plugin`).

Node classes several test files use are fixtures too (``Numbers``, ``Collect``): test
modules cannot import one another (``--import-mode=importlib``).
"""

from __future__ import annotations

import threading

import pytest
from databay import Inlet, Outlet
from databay.plugins import reset_plugin_manager


@pytest.fixture(scope="session", autouse=True)
def _private_cache_folder(tmp_path_factory):
    """Keep the tests' caches (databay's entry-point cache) out of the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def clean_plugins(monkeypatch):
    """A fresh process-wide plugin manager, loaded from the environment this test sets."""
    monkeypatch.delenv("DATABAY_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("DATABAY_STRICT_PLUGINS", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class Numbers(Inlet):
    """0, 1, 2... ``step`` of them at each pull; its state (kept by a stage) is the next number."""

    def __init__(self, step: int = 5):
        super().__init__()
        self.next, self.step = 0, step

    def pull(self, update):
        numbers = list(range(self.next, self.next + self.step))
        self.next += self.step
        return numbers

    def get_state(self):
        return {"next": self.next}

    def set_state(self, state):
        self.next = state["next"]


class Collect(Outlet):
    """Keeps the payloads it receives (from any thread), in ``payloads``."""

    def __init__(self):
        super().__init__()
        self.payloads: list = []
        self.lock = threading.Lock()

    def push(self, records, update):
        with self.lock:
            self.payloads.extend(record.payload for record in records)


@pytest.fixture(name="Numbers")
def numbers_class() -> type[Numbers]:
    """The class of a stateful inlet of consecutive numbers."""
    return Numbers


@pytest.fixture(name="Collect")
def collect_class() -> type[Collect]:
    """The class of an outlet that keeps the payloads it receives."""
    return Collect
