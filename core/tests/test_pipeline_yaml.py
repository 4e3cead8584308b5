"""YAML pipelines in-process: the same documents as TOML, each problem with its key path and line."""

from __future__ import annotations

import datetime
import sys
import textwrap

import pytest
from databay.pipeline import PipelineError, check_pipeline
from databay.pipeline.document import Source
from databay.pipeline.source import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

yaml = pytest.importorskip("yaml", reason="YAML pipelines need the yaml extra (PyYAML)")


def document(text: str):
    return parse(Source("<test>", textwrap.dedent(text), None, "yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        check_pipeline(textwrap.dedent(text), format="yaml")
    return [str(p) for p in caught.value.problems]


def test_scalars_follow_the_core_schema_and_match_toml():
    data = document("""
        text: [yes, no, on, off, "1:30", 1:30, 0777x, y, ~x]
        booleans: [true, False, TRUE]
        integers: [12, -3, 0o17, 0x1f, 017]
        floats: [1.5, 1e3, -.5, .inf]
        nothing: [~, null, NULL]
        empty:
        date: 2024-05-01
        moment: 2024-05-01T10:00:00Z
    """).data
    assert data["text"] == ["yes", "no", "on", "off", "1:30", "1:30", "0777x", "y", "~x"]
    assert data["booleans"] == [True, False, True]
    assert data["integers"] == [12, -3, 15, 31, 17]
    assert data["floats"] == [1.5, 1000.0, -0.5, float("inf")]
    assert data["nothing"] == [None, None, None] and data["empty"] is None
    assert data["date"] == datetime.date(2024, 5, 1)
    assert data["moment"] == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)


def test_every_key_and_item_has_its_line():
    parsed = document("""
        planner:
          threads: 2
        links:
          - interval: 5s
            inlets:
              - use: random_int
                max: 6
            outlets: [print]
    """)
    assert parsed.lines == {
        "planner": 2, "planner.threads": 3, "links": 4, "links[0]": 5, "links[0].interval": 5,
        "links[0].inlets": 6, "links[0].inlets[0]": 7, "links[0].inlets[0].use": 7,
        "links[0].inlets[0].max": 8, "links[0].outlets": 9, "links[0].outlets[0]": 9,
    }


def test_merge_keys_and_aliases():
    data = document("""
        base: &base {use: random_int, min: 1, max: 6}
        links:
          - {<<: *base, max: 20}
          - {<<: [*base, {extra: 1}]}
          - *base
    """).data
    assert data["links"] == [{"use": "random_int", "min": 1, "max": 20},
                             {"use": "random_int", "min": 1, "max": 6, "extra": 1},
                             {"use": "random_int", "min": 1, "max": 6}]


@pytest.mark.parametrize("text, expected", [
    ("links: [\n", "line 2, column 1: invalid YAML: while parsing a flow node, expected the node content, but found "
                 "'<stream end>'"),
    ("a: 1\n---\nb: 2\n", "line 2, column 1: invalid YAML: expected a single document in the stream, "
                          "but found another document"),
    ("- 1\n- 2\n", "pipeline: a pipeline is a mapping of keys (planner, links, ...), not a list (line 1)"),
    ("just text\n", "pipeline: a pipeline is a mapping of keys (planner, links, ...), not a single value (line 1)"),
    ("planner:\n  threads: 1\n  threads: 2\n", "planner.threads: duplicate key 'threads' (line 3)"),
    ("planner:\n  [a, b]: 1\n", "planner: a key must be text, not a list or a mapping (line 2)"),
    ("planner:\n  threads: !!python/object:os.system x\n",
     "planner.threads: the tag 'tag:yaml.org,2002:python/object:os.system' is not supported: a pipeline "
     "holds text, numbers, booleans, dates, lists and mappings (line 2)"),
    ("planner:\n  threads: !!binary aGVsbG8=\n", "planner.threads: the tag 'tag:yaml.org,2002:binary' is not"),
    ("planner:\n  threads: !!int x1\n", "planner.threads: 'x1' is not a valid int (line 2)"),
    ("a: &a {<<: *a}\n", "a: '<<' merges a mapping into itself (line 1)"),
    ("planner: {<<: 5}\n", "planner: '<<' merges a mapping or a list of mappings (line 1)"),
    ("a: \x00\n", "line 1: invalid YAML: character #x0000 is not allowed"),
    ("a:" + " [" * 40 + " ]" * 40 + "\n", "line 1: nested too deeply: tables and lists go at most 32 levels deep"),
    ("a:\n  - b:\n" + "".join("  " * (i + 2) + f"- c{i}:\n" for i in range(40)),
     "line 17: nested too deeply"),
])
def test_yaml_mistakes_have_their_place(text, expected):
    with pytest.raises(PipelineError) as caught:
        document(text)
    [problem] = caught.value.problems
    assert str(problem).startswith(expected)


def test_aliases_expanding_to_too_much_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(PipelineError) as caught:
        document("\n".join(lines))
    [problem] = caught.value.problems
    assert "more than 200000 values (aliases expand to too many)" in problem.message


def test_a_self_referring_alias_is_too_deep_not_endless():
    with pytest.raises(PipelineError) as caught:
        document("a: &a [*a]\n")
    assert "nested too deeply" in caught.value.problems[0].message


def test_checking_gives_the_line_of_each_problem(tmp_path):
    path = tmp_path / "pipeline.yml"
    path.write_text(textwrap.dedent("""\
        planner:
          use: schedule
          thread: 2
        links:
          - interval: 5x
            inlets:
              - use: random_int
                max: six
            outlets: ["null"]
    """))
    with pytest.raises(PipelineError) as caught:
        check_pipeline(path)
    assert [str(p) for p in caught.value.problems] == [
        "planner (schedule): unknown argument 'thread' (did you mean 'threads'?) (line 3)",
        "links[0]: argument 'interval': '5x' is not an interval (expected seconds as a number, or a "
        "duration like '250ms', '5s', '10m', '1h', '1d' or '1h30m') (line 5)",
        "links[0].inlets[0] (random_int): argument 'max' must be int, not str ('six') (line 8)",
    ]


def test_without_the_extra_the_message_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml raises ImportError
    path = tmp_path / "pipeline.yaml"
    path.write_text("links: []\n")
    with pytest.raises(PipelineError) as caught:
        check_pipeline(path)
    assert [str(p) for p in caught.value.problems] == [
        "pipeline: YAML pipelines need the yaml extra: pip install 'databay[yaml]'"]


def test_a_toml_file_named_yaml_can_be_told_apart(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text("[[links]]\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n")
    assert len(check_pipeline(path, format="toml").links) == 1


# -- never a traceback ---------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                     st.sampled_from(["random_int", "null", "print", "5s", "${X}", "${X:-1}", "json:loads"]))
_keys = st.sampled_from(["links", "planner", "inlets", "outlets", "use", "interval", "tags", "max", "profile",
                         "processors", "stage", "retry", "orders", "metadata", "notifiers", "<<"])
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
                       max_leaves=25)
_pieces = st.sampled_from(["", ":", "- ", "[", "]", "{", "}", "&a ", "*a", "<<: ", "!!str ", "!x ", "\t", "\n",
                           "  ", "'", '"', "? ", "---\n", "%YAML 1.2\n", "|\n", "#"])


def yaml_text(data, edits) -> str:
    text = yaml.safe_dump(data, default_flow_style=None, sort_keys=False)
    for at, piece in edits:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(_keys, _values, max_size=6), edits=st.lists(st.tuples(st.integers(0), _pieces), max_size=4))
def test_generated_yaml_is_checked_or_refused_never_crashes(data, edits):
    text = yaml_text(data, edits)
    try:
        check_pipeline(text if "\n" in text else text + "\n", environ={}, format="yaml")
    except PipelineError as exc:
        assert exc.problems and all(p.place and p.message for p in exc.problems)
