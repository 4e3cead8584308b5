"""`databay validate` in a subprocess: valid pipelines, and a table of mistakes each with its place."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID = """
[planner]
use = "schedule"
threads = 4

[[links]]
tags = ["dice"]
interval = "1m30s"
inlets = [{ use = "random_int", min = 1, max = 6, metadata = { die = "d6" } }]
outlets = [{ use = "file", default_filepath = "${OUT_DIR:-out}/dice.txt", processors = [{ use = "buffer", count_threshold = 10 }] }]
processors = ["json:loads"]
"""

LINK = "[[links]]\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n"

# (pipeline text, the one problem expected: place, then message; "..." at the end: what follows
# depends on the plugins installed)
MISTAKES = [
    ("[[links]]\ninterval = = 1\n", "line 2, column 12: invalid TOML: Invalid value"),
    ("[[links]]\ninterval = 1\ninlets = ['null'\n", "line 4, column 1 (end of file): invalid TOML: Unclosed array"),
    ("link = 1\n" + LINK, "pipeline: unknown top-level key 'link' (did you mean 'links'?)"),
    ("[planner]\nthreads = 2\n", "pipeline: no links: add a [[links]] table"),
    ("[links]\ninterval = 1\n", "pipeline: 'links' must be [[links]] tables, not dict ({'interval': 1})"),
    (LINK.replace("interval = 1\n", ""), "links[0]: missing required argument 'interval' (or a calendar: "
                                          "schedule = \"every day at 06:00\")"),
    (LINK.replace("= 1", "= '5x'"), "links[0]: argument 'interval': '5x' is not an interval (expected seconds "
                                    "as a number, or a duration like '250ms', '5s', '10m', '1h', '1d' or '1h30m')"),
    (LINK.replace("= 1", "= '0s'"), "links[0]: argument 'interval': an interval must be positive and finite, "
                                    "not '0s'"),
    (LINK.replace("inlets = ['null']", "inlets = []"),
     "links[0]: no inlets: add inlets = [{ use = \"...\" }] (a registered inlet)"),
    (LINK.replace("outlets = ['null']\n", ""),
     "links[0]: no outlets: add outlets = [{ use = \"...\" }] (a registered outlet)"),
    (LINK + "copy_record = false\n", "links[0]: unknown argument 'copy_record' (did you mean 'copy_records'?)"),
    (LINK + "copy_records = 'no'\n", "links[0]: argument 'copy_records' must be bool (true or false), not str ('no')"),
    (LINK + "tags = ['a', 2]\n", "links[0]: argument 'tags'[1] must be str, not int (2)"),
    (LINK.replace("'null']\nout", "'rando_int']\nout"),
     "links[0].inlets[0] (rando_int): unknown inlet 'rando_int' (did you mean 'random_int'?)"),
    (LINK.replace("outlets = ['null']", "outlets = [{ use = 'pint' }]"),
     "links[0].outlets[0] (pint): unknown outlet 'pint' (did you mean 'print'?)"),
    (LINK.replace("inlets = ['null']", "inlets = [{ min = 1 }]"),
     "links[0].inlets[0]: missing 'use': the registered inlet to use, e.g. { use = \"...\" }"),
    (LINK.replace("inlets = ['null']", "inlets = ['null', 7]"),
     "links[0].inlets[1]: expected a table such as { use = \"...\" } or an inlet name, not int (7)"),
    (LINK.replace("outlets = ['null']", "outlets = [{ use = 'file', default_file_path = 'x' }]"),
     "links[0].outlets[0] (file): unknown argument 'default_file_path' (did you mean 'default_filepath'?)"),
    (LINK.replace("inlets = ['null']", "inlets = ['file']"),
     "links[0].inlets[0] (file): missing required argument 'filepath'"),
    (LINK.replace("inlets = ['null']", "inlets = [{ use = 'random_int', max = 'six' }]"),
     "links[0].inlets[0] (random_int): argument 'max' must be int, not str ('six')"),
    (LINK.replace("inlets = ['null']", "inlets = [{ use = 'file', filepath = 'x', read_mode = 'word' }]"),
     "links[0].inlets[0] (file): argument 'read_mode' must be one of 'line', 'file', not str ('word')"),
    (LINK.replace("inlets = ['null']", "inlets = [{ use = 'null', metadata = 'm' }]"),
     "links[0].inlets[0] (null): argument 'metadata' must be a table, not str ('m')"),
    (LINK.replace("outlets = ['null']", "outlets = [{ use = 'file', default_filepath = '${DATABAY_NOT_SET}/x' }]"),
     "links[0].outlets[0] (file): argument 'default_filepath': environment variable DATABAY_NOT_SET is not set "
     "(set it, or give a default: ${DATABAY_NOT_SET:-...})"),
    (LINK.replace("outlets = ['null']", "outlets = [{ use = 'file', default_filepath = '${OUT' }]"),
     "links[0].outlets[0] (file): argument 'default_filepath': unclosed '${' in '${OUT' "
     "(write '$$' for a literal '$')"),
    (LINK + "processors = ['bufer']\n",
     "links[0].processors[0] (bufer): unknown processor 'bufer' (did you mean 'buffer' or 'Buffer'?)"),
    (LINK + "processors = ['no_such_package.steps:keep']\n",
     "links[0].processors[0] (no_such_package.steps:keep): cannot import 'no_such_package.steps': "
     "ModuleNotFoundError: No module named 'no_such_package'"),
    (LINK + "processors = ['json:no_such_function']\n",
     "links[0].processors[0] (json:no_such_function): 'json' has no attribute 'no_such_function'"),
    (LINK + "groupers = ['json:__name__']\n",
     "links[0].groupers[0] (json:__name__): 'json:__name__' is not callable (it is a str)"),
    (LINK + "processors = [{ use = 'json:dumps', indent = 2 }]\n",
     "links[0].processors[0] (json:dumps): 'json:dumps' is a function, used as it is: it takes no arguments "
     "(got indent)"),
    (LINK.replace("outlets = ['null']", "outlets = [{ use = 'null', processors = [{ use = 'buffer', count = 5 }] }]"),
     "links[0].outlets[0].processors[0] (buffer): unknown argument 'count' (Buffer takes count_threshold, "
     "time_threshold, custom_controllers, on_reset, conjugate_controllers)"),
    (LINK.replace("inlets = ['null']", "inlets = [{ use = 'null', processors = ['buffer'] }]"),
     "links[0].inlets[0] (null): unknown argument 'processors' (NullInlet takes metadata, retry)"),
    ("[planner]\nuse = 'aps_planner'\n" + LINK, "planner (aps_planner): unknown planner 'aps_planner'..."),
    ("[planner]\nthread = 2\n" + LINK, "planner (schedule): unknown argument 'thread' (did you mean 'threads'?)"),
    ("[planner]\nlinks = []\n" + LINK,
     "planner (schedule): 'links' is not a planner argument: links are [[links]] tables at the top level"),
    (LINK + "tags = 'a'\n" + LINK + "tags = ['a']\n",
     "links[1]: same tags as links[0] (a): tags name a link in logs and in the live view, give each link its own"),
]



def test_a_valid_pipeline_is_summarised(installed, tmp_path, write_pipeline):
    result = installed.databay("validate", str(write_pipeline(VALID)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'pipeline.toml'}: valid, 1 link, planner schedule",
        "  links[0] dice: every 1m30s",
        "    inlets:     random_int(min=1, max=6, metadata={'die': 'd6'})",
        "    processors: json:loads",
        "    outlets:    file(default_filepath='${OUT_DIR:-out}/dice.txt', processors=[buffer(count_threshold=10)])",
    ]
    assert result.stderr == ""


def test_validate_json(installed, write_pipeline):
    result = installed.databay("validate", "--json", str(write_pipeline(VALID)))
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    assert described["valid"] and described["planner"]["use"] == "schedule"
    [link] = described["links"]
    assert link["tags"] == ["dice"] and link["interval"] == 90
    assert link["outlets"][0]["arguments"]["default_filepath"] == "${OUT_DIR:-out}/dice.txt"  # never expanded


@pytest.mark.parametrize("text, expected", MISTAKES, ids=[f"{i:02d}" for i in range(len(MISTAKES))])
def test_each_mistake_is_one_problem_with_its_place(installed, text, expected, write_pipeline):
    path = write_pipeline(text)
    result = installed.databay("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    header, problem = result.stderr.splitlines()
    assert header == f"Error: {path}: 1 problem"
    problem = re.sub(r" \(line \d+\)$", "", problem)  # the lines: test_pipeline_lines.py
    if expected.endswith("..."):
        assert problem.startswith(f"  {expected[:-3]}")
    else:
        assert problem == f"  {expected}"
    assert result.stdout == ""


def test_all_problems_at_once_in_json(installed, write_pipeline):
    text = "\n".join(t for t, _ in MISTAKES[5:25])
    result = installed.databay("validate", "--json", str(write_pipeline(text)))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False and len(report["problems"]) >= 15
    assert {"place", "message", "line"} == set(report["problems"][0])


def test_a_plugin_left_out_by_databay_load_plugins_is_named_as_such(installed, write_pipeline):
    path = write_pipeline(LINK.replace("inlets = ['null']", "inlets = [{ use = 'http', url = 'http://x' }]"))
    result = installed.databay("validate", str(path), env={"DATABAY_LOAD_PLUGINS": ""})
    assert result.returncode == 2
    assert result.stderr.splitlines()[1] == (
        "  links[0].inlets[0] (http): unknown inlet 'http': it is provided by databay-http, which "
        "DATABAY_LOAD_PLUGINS leaves out (line 3)")


def test_a_missing_file(installed, tmp_path):
    result = installed.databay("validate", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"no such file: {tmp_path / 'nope.toml'}" in result.stderr


_pieces = st.sampled_from(["", "=", "[", "]", "[[links]]\n", "\"", "{", "}", "$", "${X}", "use = 'x'\n", "\n",
                           "0", "'5s'", "inlets", "outlets", ",", "interval = "])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID)), _pieces), min_size=1, max_size=5))
def test_mutated_files_never_show_a_traceback(installed, edits, write_pipeline):
    text = VALID
    for at, piece in edits:
        text = text[:at] + piece + text[at + 1:]
    result = installed.databay("validate", str(write_pipeline(text)))
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "run with --debug" not in result.stderr
