"""pytest fixtures for plugin authors, loaded by pytest wherever databay is installed.

databay registers this module under pytest's ``pytest11`` entry point, so its fixtures
are there in every test session without any import or ``conftest.py``:

``run_transfer(link, times=1)``
    Start the link's inlets and outlets, transfer ``times`` times, shut them down; the
    last transfer's :class:`~databay.transfer.TransferStats`.
``pull_records(inlet, times=1)``
    The records an inlet produces in ``times`` transfers of a link (started and shut down).
``push_records(outlet, records)``
    Push records (or plain payloads) to an outlet through a link, as a planner would.
``run_planner(planner, timeout=30, wait_running=True)``
    Start a planner in a thread, wait until it runs; it is shut down after the test and
    anything ``start()`` raised fails the test.
``wait_until(condition, timeout=10, every=0.005)``
    Poll ``condition()`` until it is true; whether it became true in time.
``observe(observer)``
    Let an observer (a :class:`~databay.notifier.Notifier`, or any object with observer
    hooks) watch the transfers of the test; removed (and a notifier closed) afterwards.
``run_pipeline(source, environ=None, check=True)``
    Check, build and run a pipeline (a file, or TOML text) once, as ``databay run
    --once`` does; its :class:`~databay.pipeline.running.OnceResult`. A link that failed
    raises its exception (unless ``check=False``); an invalid pipeline raises
    :class:`~databay.PipelineError` with every problem.
``write_pipeline(text, name="pipeline.toml")``
    Write a pipeline file (its text dedented) in the test's ``tmp_path``, for a ``databay``
    command the test runs; its path.
``databay_stage``
    A new SQLite stage in the test's ``tmp_path`` (``Link(..., stage=databay_stage)``),
    closed after the test; its ``batches()``, ``dead_letters()``... say what it holds.
``databay_plugin_manager(*plugins)``
    A fresh plugin manager with core's built-ins and the given plugin modules or objects
    registered by hand (nothing else installed is loaded), used by the whole process
    (``databay.outlets``, pipelines) for the test.
``databay_load_plugins(*distributions, strict=True)``
    Load only these installed distributions (``DATABAY_LOAD_PLUGINS``), strictly by
    default so that a broken plugin fails the test; the environment is restored after.
``databay_secret(value, shown_as)``
    Register a secret (:func:`databay.redaction.register_secret`) for the test; no secret
    is registered before it, and every one is forgotten after the test.

Importing this module imports nothing but pytest: each fixture imports what it needs when
it runs, so sessions that don't use them pay nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from databay.base_planner import BasePlanner
    from databay.inlet import Inlet
    from databay.outlet import Outlet
    from databay.pipeline.running import OnceResult
    from databay.plugins import PluginManager
    from databay.record import Record
    from databay.stage import SqliteStage
    from databay.testing._contract import PlannerThread
    from databay.transfer import TransferStats


@pytest.fixture
def run_transfer() -> Callable[..., TransferStats]:
    """``run_transfer(link, times=1)``: start, transfer ``times`` times, shut down; the last stats."""
    from databay.testing._contract import transfer

    return transfer


@pytest.fixture
def pull_records() -> Callable[..., list[Record]]:
    """``pull_records(inlet, times=1)``: the records ``inlet`` produces in ``times`` transfers."""

    def pull(inlet: Inlet, times: int = 1) -> list[Record]:
        from databay.link import Link
        from databay.testing._contract import Collector, transfer

        collector = Collector()
        transfer(Link(inlet, collector, interval=1, tags="pull_records"), times)
        return collector.records

    return pull


@pytest.fixture
def push_records() -> Callable[..., TransferStats]:
    """``push_records(outlet, records)``: push records (or payloads) through a link; the stats."""

    def push(outlet: Outlet, records: list[Any]) -> TransferStats:
        from databay.link import Link
        from databay.testing._contract import ListInlet, transfer

        return transfer(Link(ListInlet(list(records)), outlet, interval=1, tags="push_records"))

    return push


@pytest.fixture
def run_planner() -> Iterator[Callable[..., PlannerThread]]:
    """``run_planner(planner, timeout=30, wait_running=True)``: start ``planner`` in a thread
    and wait until it runs.

    Returns the thread; its ``errors`` list gets whatever ``start()`` raises. With
    ``wait_running=False`` it returns at once (for a planner that may stop by itself before
    it is seen running). After the test the planner is shut down (waiting for transfers in
    flight), and an exception ``start()`` raised fails the test.
    """
    from databay.testing._contract import PlannerThread, wait_until

    started: list[PlannerThread] = []

    def start(planner: BasePlanner, timeout: float = 30, wait_running: bool = True) -> PlannerThread:
        thread = PlannerThread(planner, name=f"run_planner-{type(planner).__name__}")
        thread.start()
        started.append(thread)
        if not wait_running:
            return thread
        wait_until(lambda: planner.running or not thread.is_alive(), timeout)
        if thread.errors:  # start() failed: raised here, not again after the test
            started.pop()
            raise thread.errors[0]
        if not planner.running:
            raise AssertionError(f"{planner!r} did not start within {timeout} s")
        return thread

    yield start
    for thread in started:
        if thread.is_alive():
            thread.planner.shutdown(wait=True)
        thread.join(30)
        assert not thread.is_alive(), f"{thread.planner!r} did not stop within 30 s of shutdown()"
        if thread.errors:
            raise thread.errors[0]


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    """``wait_until(condition, timeout=10, every=0.005)``: poll ``condition()`` every
    ``every`` seconds until it is true; whether it became true within ``timeout`` seconds."""
    from databay.testing._contract import wait_until

    return wait_until


@pytest.fixture
def observe() -> Iterator[Callable[[Any], Any]]:
    """``observe(observer)``: let ``observer`` watch the transfers of this test; returns it.

    After the test it is removed, and a :class:`~databay.notifier.Notifier` is closed
    (which sends what it still holds).
    """
    from databay.notifier import Notifier
    from databay.observers import add_observer, remove_observer

    added: list[Any] = []

    def add(observer: Any) -> Any:
        add_observer(observer)
        added.append(observer)
        return observer

    yield add
    for observer in added:
        remove_observer(observer)
        if isinstance(observer, Notifier):
            observer.close()


@pytest.fixture
def run_pipeline() -> Callable[..., OnceResult]:
    """``run_pipeline(source, environ=None, check=True)``: run a pipeline once, as ``databay run --once``.

    ``source`` is a pipeline file or TOML text; ``environ`` replaces ``os.environ`` for
    ``${VAR}``. With ``check``, the first link that failed raises its exception.
    """

    def run(source: str | os.PathLike[str], environ: Mapping[str, str] | None = None,
            check: bool = True) -> OnceResult:
        from databay.pipeline import PipelineError, load_pipeline

        try:
            pipeline = load_pipeline(source, environ)
        except PipelineError as exc:
            exc.add_note("\n".join(str(problem) for problem in exc.problems))  # shown in the test report
            raise
        result = pipeline.run_once(handle_signals=False)
        if check:
            for outcome in result.outcomes.values():
                if isinstance(outcome, Exception):  # the first link that failed
                    raise outcome
        return result

    return run


@pytest.fixture
def write_pipeline(tmp_path: Path) -> Callable[..., Path]:
    """``write_pipeline(text, name="pipeline.toml")``: a pipeline file in the test's
    ``tmp_path`` (``name`` may hold folders), its text dedented; returns its path."""
    import textwrap

    def write(text: str, name: str = "pipeline.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def databay_stage(tmp_path: Path) -> Iterator[SqliteStage]:
    """A new SQLite stage in ``tmp_path``, closed after the test."""
    from databay.stage import SqliteStage

    stage = SqliteStage(tmp_path / "test.stage")
    yield stage
    stage.close()


@pytest.fixture
def databay_plugin_manager() -> Iterator[Callable[..., PluginManager]]:
    """``databay_plugin_manager(*plugins, distribution=None)``: built-ins plus these plugins only.

    Each plugin (a module such as ``databay_kafka.plugin``, or any object with hook
    implementations) is registered for ``distribution``, by default the normalized name
    of its top-level package (``databay-kafka``). The manager is the process-wide one
    until the test ends.
    """
    from databay.plugins import PluginManager, normalize, set_plugin_manager

    def make(*plugins: Any, distribution: str | None = None) -> PluginManager:
        manager = PluginManager(load_only=set()).load()
        for plugin in plugins:
            label = getattr(plugin, "__name__", type(plugin).__name__)
            manager.register(plugin, distribution or normalize(label.split(".")[0]))
        set_plugin_manager(manager)
        return manager

    yield make
    set_plugin_manager(None)


@pytest.fixture
def databay_load_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., PluginManager]]:
    """``databay_load_plugins(*distributions, strict=True)``: load only these installed plugins.

    Sets ``DATABAY_LOAD_PLUGINS`` (and ``DATABAY_STRICT_PLUGINS``) for the test, so that
    ``databay`` commands run in a subprocess see the same selection, and returns the
    freshly loaded process-wide :class:`~databay.plugins.PluginManager`.
    """
    from databay.plugins import get_plugin_manager, set_plugin_manager

    def load(*distributions: str, strict: bool = True) -> PluginManager:
        monkeypatch.setenv("DATABAY_LOAD_PLUGINS", ",".join(distributions))
        if strict:
            monkeypatch.setenv("DATABAY_STRICT_PLUGINS", "1")
        else:
            monkeypatch.delenv("DATABAY_STRICT_PLUGINS", raising=False)
        set_plugin_manager(None)
        return get_plugin_manager()

    yield load
    set_plugin_manager(None)


@pytest.fixture
def databay_secret() -> Iterator[Callable[[str, str], str]]:
    """``databay_secret(value, shown_as)``: ``value`` is a registered secret for the test
    (shown as ``shown_as``, e.g. ``"${API_KEY}"``); returns ``value``.

    No secret is registered as the test starts, and every secret registered during it
    (by the test or by the code under test) is forgotten after it.
    """
    from databay.redaction import forget_secrets, register_secret

    def register(value: str, shown_as: str) -> str:
        register_secret(value, shown_as)
        return value

    forget_secrets()
    yield register
    forget_secrets()
