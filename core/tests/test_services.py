"""Services: components that run beside a pipeline on its planner's loop ([NAME] tables,
``databay run --NAME VALUE``); what databay-web's dashboard is."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest
import typer
from databay import hookimpl, load_pipeline
from databay.cli.errors import CliError
from databay.cli.run_cmd import ServiceOption, command
from databay.errors import ServiceError
from databay.pipeline import PipelineError, check_pipeline
from databay.plugins import get_plugin_manager
from databay.service import Service
from typer.testing import CliRunner

EVENTS: list[str] = []
NAMES: list[str] = []


class Ticker(Service):
    """Counts on the planner's loop while the pipeline runs; stops the planner after ``stop_after`` ticks."""

    option = "name"
    option_metavar = "NAME"
    option_help = "Tick under NAME."

    def __init__(self, every: float = 0.01, stop_after: int = 0, refuse: bool = False, name: str = "ticker"):
        if every <= 0 or not name.isidentifier():
            raise ValueError(f"every must be positive, name an identifier: {every}, {name!r}")
        self.every, self.stop_after, self.refuse, self.name = every, stop_after, refuse, name
        self.ticks = 0
        self.loop = None
        self._task = None

    def prepare(self, pipeline):
        super().prepare(pipeline)
        EVENTS.append("prepare")
        if self.refuse:
            raise ServiceError("ticker: refused on purpose")

    async def start(self):
        EVENTS.append("start")
        NAMES.append(self.name)
        self.loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self):
        while True:
            await asyncio.sleep(self.every)
            self.ticks += 1
            if self.ticks == self.stop_after:
                threading.Thread(target=self.pipeline.planner.shutdown).start()

    @hookimpl
    def databay_transfer_finished(self, link, update, stats):
        if "transfer" not in EVENTS:
            EVENTS.append("transfer")

    async def stop(self):
        EVENTS.append("stop")
        self._task.cancel()

    def close(self):
        EVENTS.append("close")


class TickerPlugin:
    @hookimpl
    def databay_register_services(self, register):
        register("ticker", Ticker)


PIPELINE = """
[[links]]
tags = ["t"]
interval = "10ms"
inlets = [{ use = "random_int" }]
outlets = [{ use = "null" }]
"""


@pytest.fixture
def ticker_plugin(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    get_plugin_manager().register(TickerPlugin(), "databay-ticker")
    EVENTS.clear()
    NAMES.clear()


def test_a_service_table_runs_the_service_beside_the_planner(ticker_plugin):
    pipeline = load_pipeline(PIPELINE + "[ticker]\nevery = 0.005\nstop_after = 20\n")
    ticker = pipeline.services[0]
    assert isinstance(ticker, Ticker) and ticker.every == 0.005
    result = pipeline.run(handle_signals=False)
    assert result.stopped_by is None
    assert ticker.ticks >= 20 and ticker.loop.is_closed()  # it ran on the planner's loop
    assert EVENTS == ["prepare", "start", "transfer", "stop", "close"]


def test_a_service_that_cannot_prepare_stops_the_run_before_the_planner_starts(ticker_plugin):
    pipeline = load_pipeline(PIPELINE + "[ticker]\nrefuse = true\n")
    with pytest.raises(ServiceError, match="refused on purpose"):
        pipeline.run(handle_signals=False)
    assert EVENTS == ["prepare", "close"]
    assert not pipeline.planner.running


def test_a_service_table_is_checked_like_any_component(ticker_plugin):
    with pytest.raises(PipelineError) as caught:
        check_pipeline(PIPELINE + "[ticker]\nevry = 1\n")
    assert "ticker (ticker): unknown argument 'evry' (did you mean 'every'?)" in str(caught.value)
    with pytest.raises(PipelineError, match="'use' does not go in a service's table"):
        check_pipeline(PIPELINE + "[ticker]\nuse = 'other'\n")
    with pytest.raises(PipelineError, match="must be a table of the ticker service's arguments"):
        check_pipeline("ticker = 3\n" + PIPELINE)


def test_options_merge_into_the_table_or_make_one(ticker_plugin):
    spec = check_pipeline(PIPELINE + "[ticker]\nevery = 1\nname = 'a'\n", services={"ticker": {"name": "b"}})
    assert spec.services[0].arguments == {"every": 1.0, "name": "b"}
    assert check_pipeline(PIPELINE, services={"ticker": {"name": "c"}}).services[0].arguments == {"name": "c"}
    assert check_pipeline(PIPELINE).services == []


def test_an_unknown_top_level_table_names_the_plugin_that_provides_it(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    with pytest.raises(PipelineError, match=r"unknown top-level key 'web' \(the 'web' service of databay-web: "
                                            r"pip install databay-web\)"):
        check_pipeline(PIPELINE + "[web]\nlisten = '127.0.0.1:8080'\n")


def _app(*options: ServiceOption) -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("run")(command(list(options)))
    return app


def _options(run) -> dict[str, tuple]:
    return {param.name: (param.default.param_decls, param.default.help)
            for param in inspect.signature(run).parameters.values() if param.name.startswith("service_")}


def test_databay_run_offers_the_options_of_services(ticker_plugin, tmp_path):
    run = command([ServiceOption("ticker", "name", "NAME", "Tick under NAME.")])
    assert _options(run) == {"service_ticker": (("--ticker",), "Tick under NAME.")}
    path = tmp_path / "p.toml"
    path.write_text(PIPELINE + "[ticker]\nstop_after = 5\n")
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("run")(run)
    ran = CliRunner().invoke(app, ["run", str(path), "--no-live", "--ticker", "tock"])
    assert "The planner stopped by itself" in ran.output  # the ticker shut it down
    assert EVENTS[:2] == ["prepare", "start"] and EVENTS[-1] == "close"
    assert NAMES == ["tock"]


def _error(result) -> tuple[int, str]:
    assert isinstance(result.exception, CliError), result.output
    return result.exception.exit_code, str(result.exception)


def test_service_options_do_not_go_with_once_and_are_checked(ticker_plugin, tmp_path):
    app = _app(ServiceOption("ticker", "name"))
    path = tmp_path / "p.toml"
    path.write_text(PIPELINE)
    once = CliRunner().invoke(app, ["run", str(path), "--once", "--ticker", "a"])
    assert _error(once) == (2, "--ticker runs beside a running pipeline: it does not go with --once")
    code, message = _error(CliRunner().invoke(app, ["run", str(path), "--ticker", "not one"]))
    assert code == 2 and "ticker (ticker): could not be built: ValueError: every must be positive" in message


def test_a_service_refusing_to_run_exits_1(ticker_plugin, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PIPELINE + "[ticker]\nrefuse = true\n")
    result = CliRunner().invoke(_app(), ["run", str(path), "--no-live"])
    assert _error(result) == (1, "ticker: refused on purpose")


def test_an_option_clashing_with_a_run_option_is_left_out():
    run = command([ServiceOption("once", "x"), ServiceOption("ticker", "name")])
    assert list(_options(run)) == ["service_ticker"]
