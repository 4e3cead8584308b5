"""Every problem names its line, in TOML as in YAML (the same place, the same line)."""

from __future__ import annotations

import textwrap

import pytest
from databay.pipeline import PipelineError, check_pipeline
from databay.pipeline.toml_lines import toml_lines

TOML = '''\
# a comment

[planner]
thread = 2

[inlets.dice]
use = "random_int"
max = "six"

[[links]]
interval = "5x"
inlets = ["dice"]
outlets = [
  "null",
  { use = "file", default_file_path = "x" },
]

[[links]]
tags = "b"
interval = 1
inlets = ["null"]
outlets = ["print", { use = "nowhere" }]

[links.retry]
attempts = 0
'''

YAML = '''\
# a comment

planner:
  thread: 2

inlets:
  dice:
    use: random_int
    max: six

links:
  - interval: 5x
    inlets: [dice]
    outlets:
      - "null"
      - {use: file, default_file_path: x}

  - tags: b
    interval: 1
    inlets: ["null"]
    outlets: [print, {use: nowhere}]
    retry: {attempts: 0}
'''


def problems(text: str, format: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(PipelineError) as caught:
        check_pipeline(text, format=format)
    return [(p.place, p.message.split(":")[0], p.line) for p in caught.value.problems]


def test_toml_and_yaml_problems_have_the_same_places_and_their_lines():
    toml, yaml = problems(TOML, "toml"), problems(YAML, "yaml")
    assert [p[:2] for p in toml] == [p[:2] for p in yaml]
    assert [(place, line) for place, _, line in toml] == [
        ("inlets.dice (random_int)", 8),
        ("planner (schedule)", 4),
        ("links[0]", 11),
        ("links[0].outlets[1] (file)", 13),   # in a multi-line array: the line of its key
        ("links[1].outlets[1] (nowhere)", 22),
        ("links[1]", 24),
    ]
    assert [(place, line) for place, _, line in yaml] == [
        ("inlets.dice (random_int)", 9),
        ("planner (schedule)", 4),
        ("links[0]", 12),
        ("links[0].outlets[1] (file)", 16),
        ("links[1].outlets[1] (nowhere)", 21),
        ("links[1]", 22),
    ]


def test_toml_lines_follow_tables_and_arrays_of_tables():
    assert toml_lines(TOML) == {
        "planner": 3, "planner.thread": 4,
        "inlets": 6, "inlets.dice": 6, "inlets.dice.use": 7, "inlets.dice.max": 8,
        "links": 10, "links[0]": 10, "links[0].interval": 11, "links[0].inlets": 12, "links[0].inlets[0]": 12,
        "links[0].outlets": 13, "links[0].outlets[0]": 13, "links[0].outlets[1]": 13,
        "links[0].outlets[1].use": 13, "links[0].outlets[1].default_file_path": 13,
        "links[1]": 18, "links[1].tags": 19, "links[1].interval": 20, "links[1].inlets": 21,
        "links[1].inlets[0]": 21, "links[1].outlets": 22, "links[1].outlets[0]": 22, "links[1].outlets[1]": 22,
        "links[1].outlets[1].use": 22, "links[1].retry": 24, "links[1].retry.attempts": 25,
    }


def test_toml_lines_of_quoted_and_dotted_keys_and_multi_line_strings():
    text = textwrap.dedent('''\
        [planner]
        "odd key" = 1
        a.b = """
        two
        lines"""
        c = 3
    ''')
    assert toml_lines(text) == {"planner": 1, "planner.odd key": 2, "planner.a": 3, "planner.a.b": 3,
                                "planner.c": 6}


def test_a_huge_multi_line_array_ends_the_search_for_lines_instead_of_taking_minutes():
    text = "b = 1\na = [\n" + "1,\n" * 5000 + "]\nc = 2\n"
    assert toml_lines(text) == {"b": 1}  # parsing the array line by line would cost ~15 MB of parsing
