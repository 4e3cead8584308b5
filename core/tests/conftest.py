"""Fixtures for core's unit tests (``run_planner`` and ``wait_until`` come from databay's
own pytest plugin, :mod:`databay.testing.pytest_plugin`)."""

from __future__ import annotations

import pytest
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
