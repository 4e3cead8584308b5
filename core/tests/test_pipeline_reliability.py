"""Pipeline files with stages, retry policies and notifiers: built, checked, run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from databay import load_pipeline
from databay.pipeline import PipelineError, check_pipeline
from databay.retry import RetryPolicy


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        check_pipeline(path)
    return [f"{p.place}: {p.message}" for p in caught.value.problems]  # lines: test_pipeline_lines.py


NODES = """
    from databay import Inlet, Outlet, hookimpl
    from databay.notifier import Notifier

    class Old(Outlet):
        # a databay 0.3 outlet: its constructor passes nothing on to Outlet
        def __init__(self, path):
            super().__init__()
            self.path = path

        def push(self, records, update):
            pass

    class Fails(Inlet):
        def pull(self, update):
            raise ConnectionError("source down")

    class Kept(Notifier):
        sent = []
        closed = []

        def __init__(self, name, **kwargs):
            super().__init__(**kwargs)
            self.name = name

        def send(self, events, held_back):
            Kept.sent.extend((self.name, e.kind, e.update) for e in events)

        def close(self, timeout=30.0):
            super().close(timeout)
            Kept.closed.append(self.name)
"""


def test_stage_and_retry_settings_are_built(tmp_path, monkeypatch, write_pipeline, helper_module):
    monkeypatch.chdir(tmp_path)
    nodes = helper_module(NODES)
    path = write_pipeline(f"""
        [[links]]
        interval = 1
        stage = "state/a.stage"
        retry = {{ attempts = 4, initial_delay = 0.5, retry_on = ["ConnectionError"] }}
        inlets = [{{ use = "random_int", retry = {{ attempts = 2 }} }}]
        outlets = [{{ use = "file", default_filepath = "out.txt", retry = {{ attempts = 7, jitter = 0 }} }},
                   {{ use = "{nodes}:Old", path = "x", retry = {{ attempts = 3 }} }}]
    """)
    [link] = load_pipeline(path).links
    assert link.stage.path == Path("state/a.stage")  # relative to the working directory
    assert link.retry_policy == RetryPolicy(attempts=4, initial_delay=0.5, retry_on=(ConnectionError,))
    assert link.inlets[0].retry_policy == RetryPolicy(attempts=2)
    assert [o.retry_policy.attempts for o in link.outlets] == [7, 3]
    assert link.outlets[0].retry_policy.jitter == 0


def test_bad_stage_and_retry_settings_are_reported_with_their_place(write_pipeline):
    path = write_pipeline("""
        [[links]]
        interval = 1
        stage = 5
        retry = { atempts = 3 }
        inlets = [{ use = "random_int", retry = "often" }]
        outlets = [{ use = "file", retry = { attempts = 0 } }, { use = "print", retry = { retry_on = ["Nope"] } }]

        [[links]]
        interval = 1
        stage = "same.stage"
        inlets = ["random_int"]
        outlets = ["print"]

        [[links]]
        interval = 1
        stage = "./same.stage"
        inlets = ["random_int"]
        outlets = ["print"]
    """)
    assert problems_of(path) == [
        "links[0]: argument 'stage': the path of the link's stage file, e.g. stage = \"state/todos.stage\", not int (5)",
        "links[0]: argument 'retry': unknown setting 'atempts' (did you mean 'attempts'?)",
        "links[0].inlets[0] (random_int): argument 'retry': a table such as { attempts = 5, initial_delay = 1 }, "
        "not str ('often')",
        "links[0].outlets[0] (file): argument 'retry': attempts must be a positive integer, got 0",
        "links[0].outlets[1] (print): argument 'retry': 'Nope' is not a builtin exception; name others as "
        "'module:Class'",
        "links[2]: same stage as links[1] (./same.stage): a stage serves one link, give each link its own file",
    ]


ONE_LINK = """
    [[links]]
    interval = 1
    inlets = ["random_int"]
    outlets = ["print"]
"""


def test_notifiers_are_checked_like_components(write_pipeline, helper_module):
    nodes = helper_module(NODES)
    path = write_pipeline(ONE_LINK + f"""
        [[notifiers]]
        use = "{nodes}:Kept"
        nmae = "x"

        [[notifiers]]
        use = "emial"

        [[notifiers]]
        use = "{nodes}:Kept"
        name = "ok"
        events = ["failed", "exploded"]
    """)
    problems = problems_of(path)
    assert problems[:2] == [f"notifiers[0] ({nodes}:Kept): unknown argument 'nmae' (did you mean 'name'?)",
                            f"notifiers[0] ({nodes}:Kept): missing required argument 'name'"]
    assert problems[2].startswith("notifiers[1] (emial): unknown notifier 'emial'")
    assert len(problems) == 3  # events are checked when the notifier is built:
    with pytest.raises(PipelineError, match=r"notifiers\[2\] \(.*:Kept\): could not be built: ValueError: Kept: "
                                            r"unknown event 'exploded'; events are failed, dead_lettered, finished"):
        load_pipeline(write_pipeline(ONE_LINK + f"""
            [[notifiers]]
            use = "{nodes}:Kept"
            name = "a"

            [[notifiers]]
            use = "{nodes}:Kept"
            name = "b"

            [[notifiers]]
            use = "{nodes}:Kept"
            name = "ok"
            events = ["failed", "exploded"]
        """))


def test_a_run_is_observed_by_its_notifiers_which_are_closed_at_the_end(tmp_path, monkeypatch, write_pipeline, helper_module):
    monkeypatch.chdir(tmp_path)
    nodes = helper_module(NODES)
    path = write_pipeline(f"""
        [[links]]
        tags = ["src"]
        interval = 1
        inlets = [{{ use = "{nodes}:Fails" }}]
        outlets = ["print"]

        [[notifiers]]
        use = "{nodes}:Kept"
        name = "ops"
    """)
    pipeline = load_pipeline(path)
    result = pipeline.run_once(handle_signals=False)
    kept = type(pipeline.notifiers[0])
    assert len(result.failed) == 1
    assert kept.sent == [("ops", "failed", "src.0")] and kept.closed == ["ops"]
    from databay.plugins import get_plugin_manager

    assert not get_plugin_manager().pm.is_registered(pipeline.notifiers[0])  # observing only during the run


def test_a_staged_pipeline_keeps_what_an_outlet_could_not_take(tmp_path, monkeypatch, write_pipeline, helper_module):
    monkeypatch.chdir(tmp_path)
    nodes = helper_module("""
        from databay import Outlet

        class Down(Outlet):
            def push(self, records, update):
                raise ConnectionError("down")
    """)
    path = write_pipeline(f"""
        [[links]]
        interval = 1
        stage = "state/link.stage"
        retry = {{ attempts = 2, initial_delay = 0 }}
        inlets = [{{ use = "random_int" }}]
        outlets = [{{ use = "{nodes}:Down" }}]
    """)
    pipeline = load_pipeline(path)
    result = pipeline.run_once(handle_signals=False)
    [stats] = result.outcomes.values()
    assert stats.dead_lettered == 1
    assert os.path.exists("state/link.stage")
