"""A stage backend from a plugin distribution, installed into a fresh venv: listed by
``databay plugins``, used by a pipeline and by ``databay stage``, and checked by the
``StageTester`` as its author would run it (issue 11 item 3)."""

from __future__ import annotations

import json
import textwrap

import pytest

NODES = '''
from databay import Outlet


class Down(Outlet):
    def push(self, records, update):
        raise ConnectionError("down")
'''

PIPELINE = """
[[links]]
tags = ["dice"]
interval = "1s"
stage = { use = "jsonfile", path = "state/dice.json", retention = 3600 }
retry = { attempts = 1 }
inlets = ["random_int"]
outlets = [{ use = "file", default_filepath = "copy.txt" }, "nodes:Down"]
"""

TESTER = '''
from databay.testing import StageTester
from databay_jsonstage.stage import JsonFileStage


class TestJsonFileStage(StageTester):
    def get_stage(self):
        return JsonFileStage(str(self.workdir / "stage.json"))
'''


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory, make_venv, repo, fixture_plugins):
    path = tmp_path_factory.mktemp("venv") / "env"
    return make_venv(path, repo / "core", fixture_plugins / "databay-jsonstage", "pytest")


def test_the_backend_is_listed_with_the_built_in_one(plugin_env):
    result = plugin_env.databay("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}
    assert plugins["databay-jsonstage"]["stages"] == [
        {"name": "jsonfile", "class": "JsonFileStage", "target": "databay_jsonstage.stage:JsonFileStage"}]
    assert [s["name"] for s in plugins["databay"]["stages"]] == ["sqlite"]
    assert plugins["databay-jsonstage"]["error"] is None
    assert "stages: jsonfile" in plugin_env.databay("plugins", env={"COLUMNS": "200"}).stdout
    inspected = json.loads(plugin_env.databay("inspect", "jsonfile", "--json").stdout)
    assert (inspected["kind"], inspected["distribution"]) == ("stage", "databay-jsonstage")


def test_a_pipeline_stages_its_batches_in_the_plugins_backend(plugin_env, tmp_path):
    (tmp_path / "nodes.py").write_text(NODES)
    (tmp_path / "dice.toml").write_text(textwrap.dedent(PIPELINE))
    for _ in range(2):
        run = plugin_env.databay("run", "dice.toml", "--once", "--no-live", cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 batch(es) dead-lettered" in run.stdout
    stored = json.loads((tmp_path / "state" / "dice.json").read_text())
    assert [(d["outlet"], d["state"]) for d in stored["deliveries"]] == [("Down", "dead")] * 2

    shown = json.loads(plugin_env.databay("stage", "dice.toml", "--json", cwd=tmp_path).stdout)
    [link] = shown["links"]
    assert link["stage"] == "state/dice.json"
    outlets = {o["outlet"]: o for o in link["outlets"]}
    assert outlets["Down"]["dead"]["batches"] == 2 and outlets["FileOutlet"]["dead"] is None
    exported = plugin_env.databay("stage", "dice.toml", "--export", "-", "--state", "dead", cwd=tmp_path)
    payloads = [json.loads(line)["payload"] for line in exported.stdout.splitlines()]
    assert payloads == [int(line) for line in (tmp_path / "copy.txt").read_text().split()]

    purged = plugin_env.databay("stage", "dice.toml", "--purge", "--yes", cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert json.loads((tmp_path / "state" / "dice.json").read_text())["deliveries"] == []


def test_the_plugins_author_runs_the_stage_tester_on_it(plugin_env, tmp_path):
    (tmp_path / "test_jsonfile_stage.py").write_text(TESTER)
    result = plugin_env.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_jsonfile_stage.py",
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "16 passed" in result.stdout
