"""load_pipeline / check_pipeline in-process: what gets built, and every problem with its place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from databay import Link, load_pipeline
from databay.inlets.file_inlet import FileInletMode
from databay.pipeline import PipelineError, check_pipeline
from databay.plugins import PluginManager
from databay.support.buffers import Buffer


def problems_of(source, **kwargs) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        load_pipeline(source, **kwargs)
    return [f"{p.place}: {p.message}" for p in caught.value.problems]  # lines: test_pipeline_lines.py


def test_a_full_pipeline_is_built(write_pipeline, helper_module):
    steps = helper_module("""
        def double(records):
            return records + records

        def by_two(batches):
            return [batch[i:i + 2] for batch in batches for i in range(0, len(batch), 2)]
    """)
    path = write_pipeline(f"""
        [planner]
        use = "schedule"
        threads = 4
        ignore_exceptions = true

        [[links]]
        tags = ["numbers", "small"]
        interval = "1m30s"
        copy_records = false
        inlets = [
          {{ use = "random_int", min = 1, max = "${{MAX}}", metadata = {{ source = "dice" }} }},
          {{ use = "file", filepath = "in.txt", read_mode = "file" }},
        ]
        outlets = [
          {{ use = "file", default_filepath = "${{OUT:-out}}/n.txt", processors = [{{ use = "buffer", count_threshold = 10 }}] }},
          "print",
        ]
        processors = ["{steps}:double", "buffer"]
        groupers = ["{steps}:by_two"]
    """)
    pipeline = load_pipeline(path, environ={"MAX": "6"})
    assert pipeline.source == str(path)
    assert pipeline.planner.threads == 4 and pipeline.planner.ignore_exceptions
    [link] = pipeline.links
    assert pipeline.planner.links == [link]
    assert isinstance(link, Link) and link.tags == ["numbers", "small"]
    assert link.interval == timedelta(minutes=1, seconds=30) and link.copy_records is False
    dice, file_inlet = link.inlets
    assert (dice.min, dice.max, dice.metadata) == (1, 6, {"source": "dice"})
    assert file_inlet.read_mode is FileInletMode.FILE
    file_outlet, print_outlet = link.outlets
    assert file_outlet.default_filepath == "out/n.txt"
    [buffer] = file_outlet.processors
    assert isinstance(buffer, Buffer) and buffer.count_threshold == 10
    double, link_buffer = link.processors
    assert double.__name__ == "double" and isinstance(link_buffer, Buffer) and link_buffer is not buffer
    assert [g.__name__ for g in link.groupers] == ["by_two"]
    assert pipeline.label(link) == "links[0] numbers.small"


def test_the_default_planner_and_text_pipelines():
    pipeline = load_pipeline('[[links]]\ninterval = 1\ninlets = ["null"]\noutlets = ["null"]\n')
    assert type(pipeline.planner).__name__ == "SchedulePlanner"
    assert pipeline.source == "<text>"
    assert pipeline.links[0].tags == []
    assert load_pipeline('planner = "schedule"\nlinks = [{interval=1, inlets="null", outlets="null"}]').links


def test_components_and_processors_from_import_strings(write_pipeline, helper_module):
    nodes = helper_module("""
        from databay import Inlet

        class Countdown(Inlet):
            def __init__(self, start: int, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.start = start

            def pull(self, update):
                return list(range(self.start, 0, -1))

        class KeepAbove:
            def __init__(self, limit: int):
                self.limit = limit

            def __call__(self, records):
                return [r for r in records if r.payload > self.limit]
    """)
    path = write_pipeline(f"""
        [[links]]
        interval = 1
        inlets = [{{ use = "{nodes}:Countdown", start = 5, metadata = {{ a = 1 }} }}]
        outlets = ["null"]
        processors = [{{ use = "{nodes}:KeepAbove", limit = 2 }}]
    """)
    [link] = load_pipeline(path).links
    assert link.inlets[0].start == 5 and link.inlets[0].metadata == {"a": 1}
    assert link.processors[0].limit == 2
    assert link.transfer().records_pushed == 3


def test_relative_paths_are_left_to_the_working_directory(tmp_path, monkeypatch, write_pipeline):
    monkeypatch.chdir(tmp_path)
    path = write_pipeline(name="pipelines/pipeline.toml", text="""
        [[links]]
        interval = 1
        inlets = ["random_int"]
        outlets = [{ use = "file", default_filepath = "out/n.txt" }]
    """)
    load_pipeline(path).links[0].transfer()
    assert (tmp_path / "out" / "n.txt").exists()


PROBLEMS = [
    ("[[links]]\ninterval = = 1\n", "line 2, column 12: invalid TOML: Invalid value"),
    ("[[links]]\ninterval = 1\ninlets = [", "line 4, column 1 (end of file): invalid TOML"),
    ("link = 1\n" + "[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']",
     "pipeline: unknown top-level key 'link' (did you mean 'links'?)"),
    ("[planner]\nthreads = 2\n", "pipeline: no links: add a [[links]] table"),
    ("[links]\ninterval = 1\n", "pipeline: 'links' must be [[links]] tables, not dict"),
    ("links = [1]", "links[0]: expected a [[links]] table, not int (1)"),
    ("[[links]]\ninlets=['null']\noutlets=['null']", "links[0]: missing required argument 'interval'"),
    ("[[links]]\ninterval='soon'\ninlets=['null']\noutlets=['null']",
     "links[0]: argument 'interval': 'soon' is not an interval (expected seconds as a number"),
    ("[[links]]\ninterval=-1\ninlets=['null']\noutlets=['null']",
     "links[0]: argument 'interval': an interval must be positive"),
    ("[[links]]\ninterval=1\noutlets=['null']", "links[0]: no inlets: add inlets = [{ use = \"...\" }]"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=[]", "links[0]: no outlets"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']\ninlet_concurency=2",
     "links[0]: unknown argument 'inlet_concurency' (did you mean 'inlet_concurrency'?)"),
    ("[[links]]\ninterval=1\ninlets=['rndom_int']\noutlets=['null']",
     "links[0].inlets[0] (rndom_int): unknown inlet 'rndom_int' (did you mean 'random_int'?)"),
    ("[[links]]\ninterval=1\ninlets=[{min=1}]\noutlets=['null']",
     "links[0].inlets[0]: missing 'use': the registered inlet to use"),
    ("[[links]]\ninterval=1\ninlets=[3]\noutlets=['null']",
     "links[0].inlets[0]: expected a table such as { use = \"...\" } or an inlet name, not int (3)"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=[{use='file', default_filepth='x'}]",
     "links[0].outlets[0] (file): unknown argument 'default_filepth' (did you mean 'default_filepath'?)"),
    ("[[links]]\ninterval=1\ninlets=['file']\noutlets=['null']",
     "links[0].inlets[0] (file): missing required argument 'filepath'"),
    ("[[links]]\ninterval=1\ninlets=[{use='random_int', max='6'}]\noutlets=['null']",
     "links[0].inlets[0] (random_int): argument 'max' must be int, not str ('6')"),
    ("[[links]]\ninterval=1\ninlets=[{use='null', metadata=[1]}]\noutlets=['null']",
     "links[0].inlets[0] (null): argument 'metadata' must be a table, not list ([1])"),
    ("[[links]]\ninterval=1\ntags=[1]\ninlets=['null']\noutlets=['null']",
     "links[0]: argument 'tags'[0] must be str, not int (1)"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=[{use='file', default_filepath='${NO_SUCH_VAR}'}]",
     "links[0].outlets[0] (file): argument 'default_filepath': environment variable NO_SUCH_VAR is not set"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']\nprocessors=['bufer']",
     "links[0].processors[0] (bufer): unknown processor 'bufer' (did you mean 'buffer'"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']\nprocessors=['no_such_module_x:f']",
     "links[0].processors[0] (no_such_module_x:f): cannot import 'no_such_module_x'"),
    ("[[links]]\ninterval=1\ninlets=['null']\noutlets=[{use='null', processors=[{use='buffer', count_treshold=5}]}]",
     "links[0].outlets[0].processors[0] (buffer): unknown argument 'count_treshold' (did you mean 'count_threshold'?)"),
    ("[[links]]\ninterval=1\ninlets=[{use='null', processors=['buffer']}]\noutlets=['null']",
     "links[0].inlets[0] (null): unknown argument 'processors'"),
    ("[planner]\nuse='schedul'\n[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']",
     "planner (schedul): unknown planner 'schedul' (did you mean 'schedule'?)"),
    ("[planner]\nlinks=[]\n[[links]]\ninterval=1\ninlets=['null']\noutlets=['null']",
     "planner (schedule): 'links' is not a planner argument"),
    ("[[links]]\ntags='a'\ninterval=1\ninlets=['null']\noutlets=['null']\n"
     "[[links]]\ntags=['a']\ninterval=1\ninlets=['null']\noutlets=['null']",
     "links[1]: same tags as links[0] (a)"),
]


@pytest.mark.parametrize("text, expected", PROBLEMS, ids=[e.split(":")[0] + str(i) for i, (_, e) in enumerate(PROBLEMS)])
def test_each_problem_is_reported_with_its_place(text, expected, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    found = problems_of(text + "\n")
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once():
    link_tables = [text for text, _ in PROBLEMS if text.startswith("[[links]]") and text.count("[[links]]") == 1]
    found = problems_of("\n".join(link_tables[3:]))  # past the TOML syntax errors
    assert len(found) >= len(link_tables[3:]), found


def test_an_uninstalled_first_party_component_names_its_distribution(monkeypatch, clean_plugins):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    # As if databay-http were not installed (this test may run where it is).
    monkeypatch.setattr(PluginManager, "leaves_out", lambda self, distribution: False)
    found = problems_of("[[links]]\ninterval=1\ninlets=[{use='http', url='http://x'}]\noutlets=['null']\n")
    assert found == ["links[0].inlets[0] (http): unknown inlet 'http': it is provided by databay-http, "
                     "which is not installed (pip install databay-http)"]


def test_constructor_failures_are_reported_with_their_place(write_pipeline, helper_module):
    nodes = helper_module("""
        from databay import Outlet
        from databay.planners import SchedulePlanner

        class Refusing(SchedulePlanner):
            def __init__(self, *args, **kwargs):
                raise ValueError("no planner today")

        class Unreachable(Outlet):
            def __init__(self, host: str, *args, **kwargs):
                super().__init__(*args, **kwargs)
                raise ConnectionError(f"{host} is not a host")

            def push(self, records, update):
                pass
    """)
    path = write_pipeline(f"""
        [planner]
        use = "{nodes}:Refusing"

        [[links]]
        interval = 1
        inlets = [{{ use = "random_int", min = 10, max = 1 }}]
        outlets = ["null", {{ use = "{nodes}:Unreachable", host = "nowhere" }}]
    """)
    assert problems_of(path) == [
        f"planner ({nodes}:Refusing): could not be built: ValueError: no planner today",
        "links[0].inlets[0] (random_int): could not be built: ValueError: RandomIntInlet: min (10) must not be "
        "greater than max (1)",
        f"links[0].outlets[1] ({nodes}:Unreachable): could not be built: ConnectionError: nowhere is not a host",
    ]


def test_checking_builds_nothing(tmp_path, write_pipeline, helper_module):
    marker = tmp_path / "built"
    nodes = helper_module(f"""
        from databay import Inlet

        class Noisy(Inlet):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                open({str(marker)!r}, "w").close()

            def pull(self, update):
                return []
    """)
    path = write_pipeline(f"[[links]]\ninterval=1\ninlets=['{nodes}:Noisy']\noutlets=['null']\n")
    spec = check_pipeline(path)
    assert spec.links[0].components("inlets")[0].use == f"{nodes}:Noisy"
    assert not marker.exists()
    load_pipeline(path)
    assert marker.exists()


def test_a_missing_file():
    assert problems_of(Path("/no/such/pipeline.toml")) == ["pipeline: no such file: /no/such/pipeline.toml"]
