"""Fixtures: a pipeline running in this process with its dashboard on 127.0.0.1 (port 0),
a users file. The tests' own modules (web_helpers, web_components) are importable."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # pipelines name web_components:...; tests import web_helpers

from databay import load_pipeline  # noqa: E402
from web_helpers import HASH, Client, Running, wait_for  # noqa: E402


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.txt"
    path.write_text(f"# the dashboard's users\nalice:{HASH}\n")
    return path


@pytest.fixture
def run_pipeline(tmp_path, monkeypatch) -> Iterator:
    """``run_pipeline(toml)``: run the pipeline (its [web] table on 127.0.0.1:0) in a thread
    until the test ends; returns a :class:`Running`."""
    monkeypatch.chdir(tmp_path)
    started: list[Running] = []

    def run(text: str) -> Running:
        path = tmp_path / "pipeline.toml"
        path.write_text(text)
        pipeline = load_pipeline("pipeline.toml")  # relative: the page shows the file's name
        service = pipeline.services[0]
        thread = threading.Thread(target=pipeline.run, kwargs={"handle_signals": False}, daemon=True)
        thread.start()
        assert wait_for(lambda: getattr(service, "_server", None) is not None), "the dashboard did not start"
        running = Running(pipeline, service, thread, Client(service.url))
        started.append(running)
        return running

    yield run
    for running in started:
        running.pipeline.planner.shutdown()
        running.thread.join(15)
        assert not running.thread.is_alive()
