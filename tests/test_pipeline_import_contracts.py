"""What a pipeline names by import string must be what its place needs, as a registered component must.

``processors = ["os:system"]`` would call ``os.system(records)`` at every transfer; an inlet
``{ use = "os:system", command = "..." }`` would run a command when the pipeline is built.
``validate`` (and so ``run``) refuses both with their place, exit 2, and nothing runs
(issue 10, item 3, for import strings).
"""

from __future__ import annotations

import json
import textwrap

import pytest

PROCESSOR = ("a processor must be a function taking the records, or a class whose instances are such "
             "functions")


def link(**keys: str) -> str:
    tables = {"inlets": '["null"]', "outlets": '["null"]', **keys}
    return "[[links]]\ninterval = 1\n" + "".join(f"{key} = {value}\n" for key, value in tables.items())


@pytest.mark.parametrize("pipeline, problem", [
    (link(processors='["os:system"]'),
     f"links[0].processors[0] (os:system): os:system is a built-in function, not a processor; {PROCESSOR} (line 5)"),
    (link(groupers='["os:getcwd"]'),
     "links[0].groupers[0] (os:getcwd): os:getcwd is a built-in function, not a processor"),
    (link(processors='[{ use = "collections:OrderedDict" }]'),
     "links[0].processors[0] (collections:OrderedDict): collections:OrderedDict is a class whose instances cannot "
     "be called with records"),
    (link(inlets='[{ use = "os:system", command = "touch owned" }]'),
     "links[0].inlets[0] (os:system): os:system is a built-in function, not a subclass of databay.Inlet; an inlet "
     "must be a concrete subclass of databay.Inlet"),
    (link(outlets='[{ use = "subprocess:Popen", args = "touch owned" }]'),
     "links[0].outlets[0] (subprocess:Popen): subprocess:Popen is a class, not a subclass of databay.Outlet"),
    ('[planner]\nuse = "subprocess:Popen"\nargs = "touch owned"\n' + link(),
     "planner (subprocess:Popen): subprocess:Popen is a class, not a subclass of databay.BasePlanner"),
    (link(stage='{ use = "subprocess:Popen", args = "touch owned" }'),
     "links[0].stage (subprocess:Popen): subprocess:Popen is a class, not a subclass of databay.stage.Stage"),
    (link() + '[[notifiers]]\nuse = "subprocess:Popen"\nargs = "touch owned"\n',
     "notifiers[0] (subprocess:Popen): subprocess:Popen is a class that is no Notifier subclass and implements "
     "no observer hook; a notifier must be a databay.notifier.Notifier subclass"),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_import_string_of_the_wrong_kind_is_refused_with_its_place(installed, tmp_path, pipeline, problem, command):
    (tmp_path / "p.toml").write_text(pipeline, encoding="utf-8")
    args = [command, "p.toml"] + (["--once"] if command == "run" else [])
    result = installed.databay(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "owned").exists()


def test_validate_json_reports_it(installed, tmp_path):
    (tmp_path / "p.toml").write_text(link(processors='["os:system"]'), encoding="utf-8")
    result = installed.databay("validate", "p.toml", "--json", cwd=tmp_path)
    assert result.returncode == 2
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["place"] == "links[0].processors[0] (os:system)"
    assert problem["message"].startswith("os:system is a built-in function, not a processor")


NODES = '''
from databay import Inlet, Outlet


def only_even(records):
    return [r for r in records if r.payload % 2 == 0]


class Pairs:
    def __call__(self, batches):
        records = [record for batch in batches for record in batch]
        return [records[i:i + 2] for i in range(0, len(records), 2)]


class Numbers(Inlet):
    def pull(self, update):
        return [1, 2, 3, 4, 6, 8]


class Keep(Outlet):
    def push(self, records, update):
        with open("kept.txt", "a") as f:
            f.write(" ".join(str(r.payload) for r in records) + "\\n")
'''


def test_import_strings_of_the_right_kind_still_work(installed, tmp_path):
    (tmp_path / "fit_nodes.py").write_text(NODES, encoding="utf-8")
    (tmp_path / "p.toml").write_text(textwrap.dedent('''
        [[links]]
        interval = 1
        inlets = ["fit_nodes:Numbers"]
        outlets = ["fit_nodes:Keep"]
        processors = ["fit_nodes:only_even"]
        groupers = [{ use = "fit_nodes:Pairs" }]
        '''), encoding="utf-8")
    assert installed.databay("validate", "p.toml", cwd=tmp_path).returncode == 0
    result = installed.databay("run", "p.toml", "--once", "--no-live", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kept.txt").read_text().splitlines() == ["2 4", "6 8"]  # filtered, then in pairs
