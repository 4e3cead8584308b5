"""databay's pytest plugin (the ``pytest11`` entry point): its fixtures, and what it costs
sessions that don't use them. Each case runs pytest in a subprocess, as a plugin author's
test suite would run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

FIXTURE_TESTS = '''
import os
import time

import pytest
from databay import Link, Outlet, PipelineError, Record, hookimpl
from databay.inlets import RandomIntInlet
from databay.notifier import Notifier
from databay.planners import SchedulePlanner
from databay.plugins import get_plugin_manager


class Keep(Outlet):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.payloads = []

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)


class KeepPlugin:
    @hookimpl
    def databay_register_outlets(self, register):
        register("keep", Keep)


def test_run_transfer_starts_transfers_and_shuts_down(run_transfer):
    keep = Keep()
    stats = run_transfer(Link(RandomIntInlet(min=4, max=4), keep, interval=1, tags="t"), times=3)
    assert keep.payloads == [4, 4, 4]
    assert str(stats.update) == "t.2" and stats.records_pushed == 1
    assert not keep.active


def test_run_transfer_transfers_once_by_default(run_transfer):
    keep = Keep()
    stats = run_transfer(Link(RandomIntInlet(min=4, max=4), keep, interval=1, tags="t"))
    assert keep.payloads == [4] and str(stats.update) == "t.0"


def test_pull_records_gives_the_records_with_their_metadata(pull_records):
    records = pull_records(RandomIntInlet(min=1, max=1, metadata={"k": "v"}), times=2)
    assert [r.payload for r in records] == [1, 1]
    assert all(r.metadata["k"] == "v" for r in records)


def test_push_records_takes_records_and_payloads(push_records):
    keep = Keep()
    stats = push_records(keep, [Record({"a": 1}), {"b": 2}])
    assert keep.payloads == [{"a": 1}, {"b": 2}] and stats.records_pushed == 2


def test_run_planner_runs_it_until_the_test_ends(run_planner, wait_until):
    keep = Keep()
    planner = SchedulePlanner(Link(RandomIntInlet(), keep, interval=0.01))
    thread = run_planner(planner)
    assert planner.running and thread.is_alive() and thread.errors == []
    assert wait_until(lambda: len(keep.payloads) >= 3)


def test_run_planner_need_not_wait_for_a_planner_that_stops_by_itself(run_planner):
    class StopsThePlanner(Keep):
        def push(self, records, update):
            planner.shutdown(wait=False)

    planner = SchedulePlanner(Link(RandomIntInlet(), StopsThePlanner(), interval=60))
    thread = run_planner(planner, wait_running=False)
    thread.join(10)
    assert not thread.is_alive() and thread.errors == []


def test_run_planner_raises_what_start_raised(run_planner):
    class Refusing(SchedulePlanner):
        def start(self):
            raise RuntimeError("no start today")

    with pytest.raises(RuntimeError, match="no start today"):
        run_planner(Refusing())


def test_wait_until_says_whether_the_condition_became_true(wait_until):
    started = time.monotonic()
    assert wait_until(lambda: time.monotonic() - started > 0.05)
    assert not wait_until(lambda: False, timeout=0.05)


class Tell(Notifier):
    def __init__(self):
        super().__init__(events=["finished"])
        self.sent = []

    def send(self, events, held_back):
        self.sent.extend(events)


OBSERVED = []


def test_observe_lets_a_notifier_watch_transfers(observe, run_transfer):
    tell = observe(Tell())
    OBSERVED.append(tell)
    run_transfer(Link(RandomIntInlet(), Keep(), interval=1, tags="seen"))
    tell.close()
    assert [event.link for event in tell.sent] == ["seen"]


def test_after_it_the_observer_is_removed_and_closed():
    (tell,) = OBSERVED
    assert not get_plugin_manager().pm.is_registered(tell) and tell._closed


def test_databay_plugin_manager_registers_plugins_for_the_whole_process(databay_plugin_manager):
    manager = databay_plugin_manager(KeepPlugin(), distribution="databay-keep")
    assert get_plugin_manager() is manager
    assert manager.resolve("outlet", "keep") is Keep
    from databay.outlets import Keep as resolved
    assert resolved is Keep


def test_after_it_the_installed_plugins_are_back():
    assert "databay-keep" not in get_plugin_manager().plugins


def test_databay_load_plugins_selects_distributions(databay_load_plugins):
    manager = databay_load_plugins()
    assert set(manager.plugins) == {"databay"}
    assert os.environ["DATABAY_LOAD_PLUGINS"] == "" and os.environ["DATABAY_STRICT_PLUGINS"] == "1"


def test_run_pipeline_runs_each_link_once(run_pipeline, tmp_path):
    target = tmp_path / "out.txt"
    result = run_pipeline(f"""
[[links]]
tags = ["dice"]
interval = "1h"
inlets = [{{ use = "random_int", min = 6, max = 6 }}]
outlets = [{{ use = "file", default_filepath = "{target}" }}]
""")
    (stats,) = result.outcomes.values()
    assert stats.records_pushed == 1 and target.read_text().strip() == "6"


def test_run_pipeline_reports_every_problem_of_an_invalid_pipeline(run_pipeline):
    with pytest.raises(PipelineError) as caught:
        run_pipeline('links = [{ interval = "5x", inlets = ["random_int"], outlets = [{ use = "file", path = "x" }] }]')
    assert len(caught.value.problems) == 2
    assert "unknown argument 'path'" in caught.value.__notes__[0]


def test_run_pipeline_raises_a_failed_link_s_exception(run_pipeline):
    text = 'links = [{ interval = 1, inlets = ["random_int"], outlets = ["tests_outlets:Failing"] }]'
    with pytest.raises(ConnectionError, match="refused"):
        run_pipeline(text)
    result = run_pipeline(text, check=False)
    assert len(result.failed) == 1


def test_after_it_the_environment_is_back():
    assert "DATABAY_LOAD_PLUGINS" not in os.environ and "DATABAY_STRICT_PLUGINS" not in os.environ


def test_databay_secret_registers_a_secret_for_the_test(databay_secret):
    from databay.redaction import has_secrets, redact, register_secret

    assert not has_secrets()
    assert databay_secret("hunter2-token", "${TOKEN}") == "hunter2-token"
    register_secret("another-secret")  # as the code under test would
    assert redact("hunter2-token another-secret") == "${TOKEN} ***"


def test_write_pipeline_writes_a_dedented_file_in_tmp_path(write_pipeline, tmp_path, run_pipeline):
    path = write_pipeline("""
        [[links]]
        interval = 1
        inlets = ["random_int"]
        outlets = ["null"]
    """, "pipelines/dice.toml")
    assert path == tmp_path / "pipelines" / "dice.toml"
    assert path.read_text().startswith("\\n[[links]]\\ninterval = 1\\n")
    assert not run_pipeline(path).failed


def test_after_it_no_secret_is_registered():
    from databay.redaction import has_secrets

    assert not has_secrets()
'''


def run_pytest(tmp_path, source: str, *args: str, prelude: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "test_it.py").write_text(textwrap.dedent(source), encoding="utf-8")
    code = f"{prelude}\nimport sys, pytest\nsys.exit(pytest.main({['-q', '-p', 'no:cacheprovider', *args]!r}))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_fixtures_are_there_without_any_import_or_conftest(tmp_path):
    (tmp_path / "tests_outlets.py").write_text(
        "from databay import Outlet\n\n\nclass Failing(Outlet):\n"
        "    def push(self, records, update):\n        raise ConnectionError('refused')\n", encoding="utf-8")
    result = run_pytest(tmp_path, FIXTURE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 passed" in result.stdout


def test_loading_the_plugin_imports_nothing_but_the_package_itself():
    code = ("import sys, pytest\nbefore = set(sys.modules)\nimport databay.testing.pytest_plugin\n"
            "print(sorted(set(sys.modules) - before))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(eval(result.stdout)) <= {"databay", "databay.lazy", "databay._version", "databay.hookspecs",
                                        "databay.logs", "databay.printable", "databay.redaction",  # the log handler's
                                        "databay.testing", "databay.testing.pytest_plugin"}


BLOCK_OPTIONAL = '''
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    """As if typer, rich and schedule were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"typer", "rich", "schedule", "click"}:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Missing())
'''


def test_pytest_still_runs_when_databay_s_optional_parts_are_missing(tmp_path):
    result = run_pytest(tmp_path, "def test_unrelated():\n    assert 1 + 1 == 2\n", prelude=BLOCK_OPTIONAL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_plugin_can_be_disabled(tmp_path):
    result = run_pytest(tmp_path, "def test_uses_it(run_transfer):\n    pass\n", "-p", "no:databay")
    assert result.returncode == 1 and "fixture 'run_transfer' not found" in result.stdout


def test_databay_imported_before_pytest_starts_is_no_warning(tmp_path):
    """pytest marks plugin packages for assert rewriting and warns about those already imported."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n", encoding="utf-8")
    result = run_pytest(tmp_path, "def test_unrelated():\n    pass\n", prelude="import databay")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "warning" not in result.stdout
