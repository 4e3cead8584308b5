"""Fixtures for core's unit tests (``run_planner`` and ``wait_until`` come from databay's
own pytest plugin, :mod:`databay.testing.pytest_plugin`).

Node classes several test files use are fixtures too (``Numbers``, ``Collect``): test
modules cannot import one another (``--import-mode=importlib``).
"""

from __future__ import annotations

import itertools
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

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


_helper_modules = itertools.count()


@pytest.fixture
def write_pipeline(tmp_path) -> Callable[..., Path]:
    """``write_pipeline(text, name="pipeline.toml")``: a pipeline file in the test's folder
    (``name`` may hold folders), its text dedented; returns its path."""

    def write(text: str, name: str = "pipeline.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def helper_module(tmp_path) -> Callable[[str], str]:
    """``helper_module(source)``: a module beside the pipeline, under a name no other test
    uses (imported modules stay in ``sys.modules``); returns its name."""

    def write(source: str) -> str:
        name = f"pipeline_helpers_{next(_helper_modules)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


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
