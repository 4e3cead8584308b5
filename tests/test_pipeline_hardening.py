"""Hostile and careless pipelines through the installed CLI (issue 10, items 1 and 9)."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIBRARY_TRAP = "import pathlib\npathlib.Path(__file__).with_name('{name}.ran').write_text('ran')\n"

HTTP_AND_MONGO = """
[[links]]
interval = 1
inlets = [{ use = "http", url = "http://127.0.0.1:9/nothing.json", timeout = 2 }]
outlets = [{ use = "mongo", host = "127.0.0.1", port = 9, collection = "c", timeout = 0.2 }]
"""


@pytest.mark.parametrize("command", [["validate"], ["run", "--once"]])
def test_libraries_beside_a_pipeline_never_run(installed, tmp_path, command):
    """aiohttp.py and pymongo.py next to a pipeline (and in the working directory) stay unread:
    the plugins get the installed libraries."""
    for name in ("aiohttp", "pymongo", "bson"):
        (tmp_path / f"{name}.py").write_text(LIBRARY_TRAP.format(name=name))
    (tmp_path / "pipeline.toml").write_text(HTTP_AND_MONGO)
    result = installed.databay(*command, "pipeline.toml", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.ran")) == []
    assert result.returncode == (0 if command == ["validate"] else 1), result.stdout + result.stderr


LINK = "[[links]]\ninlets = ['null']\noutlets = ['null']\n"

# Item 9: each was exit 1 without a place; each must be exit 2 with its place, from validate and run.
INVALID = [
    (LINK + "interval = 1e308\n", "links[0]: argument 'interval': an interval must be at most 366 days"),
    (LINK + "interval = '99999999999999999999d'\n",
     "links[0]: argument 'interval': an interval must be at most 366 days"),
    (LINK + "interval = 1e-300\n", "links[0]: argument 'interval': an interval must be at least 1 ms"),
    (LINK + "interval = 1\ninlet_concurrency = 0\n",
     "links[0]: argument 'inlet_concurrency' must be a positive int, not int (0)"),
    (LINK + "interval = 1\nstage = '/'\n", "links[0]: argument 'stage': '/' is a folder"),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "pipeline: nested too deeply"),
    ("a = " + "{ b = " * 3000 + "1" + " }" * 3000 + "\n", "pipeline: nested too deeply"),
    (LINK + "interval = 1\ntags = " + "[" * 40 + "]" * 40 + "\n", "links[0].tags"),
]


@pytest.mark.parametrize("text, expected", INVALID, ids=[f"{i}" for i in range(len(INVALID))])
@pytest.mark.parametrize("command", [["validate"], ["validate", "--json"], ["run", "--once"], ["run"]])
def test_invalid_values_are_exit_2_with_their_place(installed, tmp_path, text, expected, command):
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    result = installed.databay(*command, str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "--debug" not in result.stderr
    if "--json" in command:
        report = json.loads(result.stdout)
        assert report["valid"] is False
        assert any(str_problem(p).startswith(expected) for p in report["problems"]), report
    else:
        assert f"  {expected}" in result.stderr, result.stderr


def str_problem(problem: dict) -> str:
    return f"{problem['place']}: {problem['message']}"


def test_a_folder_as_pipeline_is_exit_2_and_json(installed, tmp_path):
    result = installed.databay("validate", "--json", str(tmp_path))
    assert result.returncode == 2
    [problem] = json.loads(result.stdout)["problems"]
    assert problem == {"place": "pipeline", "message": f"cannot read {tmp_path}: Is a directory"}


def test_a_huge_file_is_refused_unread(installed, tmp_path):
    path = tmp_path / "pipeline.toml"
    path.write_text(textwrap.dedent(LINK) + "interval = 1\n" + "# padding\n" * 2_000_000)
    result = installed.databay("validate", str(path))
    assert result.returncode == 2
    assert "is larger than 16 MiB" in result.stderr


# -- validate --json prints JSON on every input, never a traceback -------------------

VALID_TOML = """
[inlets.dice]
use = "random_int"
max = 6

[[links]]
tags = ["dice"]
interval = "5s"
inlets = ["dice"]
outlets = [{ use = "file", default_filepath = "${OUT:-out}/dice.txt", retry = { attempts = 2 } }]
inlet_concurrency = 2
"""

VALID_YAML = """
inlets:
  dice: {use: random_int, max: 6}
links:
  - tags: [dice]
    interval: 5s
    inlets: [dice]
    outlets: [{use: file, default_filepath: "${OUT:-out}/dice.txt", retry: {attempts: 2}}]
    inlet_concurrency: 2
"""

_hostile = st.sampled_from([
    "", "=", "[", "]", "{", "}", ":", "- ", "\"", "'", "\n", "$", "${X}", "${", "&a ", "*a", "!!python/name:os.system ",
    "1e308", "1e-300", "0", "-1", "99999999999999999999d", "/", "[" * 200, "{a = " * 60, "\x00", "\x1b[2J", "\t",
    "inlets", "outlets", "links", "profile = 'p'", "use: ", "<<: ",
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yaml_format=st.booleans(), edits=st.lists(st.tuples(st.integers(0, 400), _hostile), min_size=1, max_size=4))
def test_validate_json_prints_json_for_any_file(installed, tmp_path, yaml_format, edits):
    text = VALID_YAML if yaml_format else VALID_TOML
    for at, piece in edits:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    path = tmp_path / ("pipeline.yaml" if yaml_format else "pipeline.toml")
    path.write_text(text)
    result = installed.databay("validate", "--json", str(path), env={"DATABAY_PROFILES": str(tmp_path / "none")})
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "--debug" not in result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is (result.returncode == 0)
    assert report["valid"] or all(p["place"] and p["message"] for p in report["problems"])
