"""The installed `databay` command: version, plugin listing, inspect, errors and exit codes."""

from __future__ import annotations

import json

from databay import __version__


def test_version(installed):
    result = installed.databay("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"databay {__version__}"


def test_no_arguments_shows_help(installed):
    result = installed.databay()
    assert "plugins" in result.stdout + result.stderr
    assert "inspect" in result.stdout + result.stderr


def test_plugins_json_has_the_builtins(installed):
    result = installed.databay("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    core = listing["databay"]
    assert core["version"] == __version__ and core["error"] is None
    assert [p["class"] for p in core["planners"]] == ["SchedulePlanner"]
    assert "databay_register_inlets" in core["hooks"]


def test_plugins_table(installed):
    result = installed.databay("plugins")
    assert result.returncode == 0, result.stderr
    assert "databay" in result.stdout and "random_int" in result.stdout and "schedule" in result.stdout


def test_inspect_a_builtin_in_every_kind_that_has_the_name(installed):
    result = installed.databay("inspect", "file", "--json")
    assert result.returncode == 0, result.stderr
    described = {item["kind"]: item for item in json.loads(result.stdout)}
    assert set(described) == {"inlet", "outlet"}
    assert described["outlet"]["metadata_keys"] == {
        "FILEPATH": "FileOutlet.FILEPATH", "FILE_MODE": "FileOutlet.FILE_MODE",
        "FILE_ENCODING": "FileOutlet.FILE_ENCODING"}
    inlet_params = {p["name"]: p for p in described["inlet"]["parameters"]}
    assert inlet_params["filepath"]["required"] and "metadata" in inlet_params


def test_inspect_by_class_name_and_kind(installed):
    result = installed.databay("inspect", "SchedulePlanner")
    assert result.returncode == 0, result.stderr
    assert "planner schedule" in result.stdout
    assert "refresh_interval" in result.stdout and "threads" in result.stdout
    result = installed.databay("inspect", "buffer", "--kind", "processor", "--json")
    params = [p["name"] for p in json.loads(result.stdout)["parameters"]]
    assert params[:2] == ["count_threshold", "time_threshold"]


def test_unknown_component_is_one_clear_line_and_exit_2(installed):
    result = installed.databay("inspect", "rndom_int")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: unknown inlet 'rndom_int' (did you mean 'random_int'?)"
    assert result.stdout == ""


def test_debug_shows_the_traceback(installed):
    result = installed.databay("--debug", "inspect", "rndom_int")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "did you mean 'random_int'" in result.stderr


def test_bad_usage_exits_2_without_traceback(installed):
    for args in (["inspect"], ["no-such-command"], ["inspect", "file", "--kind", "widget"]):
        result = installed.databay(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
