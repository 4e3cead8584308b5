"""Fixtures for core's unit tests (``run_planner``, ``wait_until`` and ``write_pipeline`` come
from databay's own pytest plugin, :mod:`databay.testing.pytest_plugin`)."""

from __future__ import annotations

import io
import itertools
import textwrap
from collections.abc import Callable

import pytest
from databay.plugins import reset_plugin_manager
from rich.console import Console


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
def helper_module(tmp_path) -> Callable[[str], str]:
    """``helper_module(source)``: a module beside the pipeline, under a name no other test
    uses (imported modules stay in ``sys.modules``); returns its name."""

    def write(source: str) -> str:
        name = f"pipeline_helpers_{next(_helper_modules)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


@pytest.fixture
def screen() -> Callable[..., list[str]]:
    """``screen(renderable, height=40)``: the lines a terminal 200 columns wide (without
    colours) shows of a Rich renderable, such as the live view."""

    def render(renderable: object, height: int = 40) -> list[str]:
        console = Console(file=io.StringIO(), width=200, height=height, color_system=None, force_terminal=True)
        console.print(renderable)
        return console.file.getvalue().splitlines()  # type: ignore[attr-defined]

    return render
