"""What ``databay plugins``, ``inspect``, ``validate`` and ``stage`` print escapes what they did not write.

Plugin metadata and docstrings, pipeline files, stage contents and outlets' error messages are
input: shown raw, a newline in one forges an output line, and an escape sequence drives the
terminal. Every human output goes through :mod:`databay.printable`; ``--json`` stays exact
JSON (its encoder escapes control characters itself). Through the installed command.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

# A newline forging a line, CSI and OSC sequences, a bell, an 8-bit CSI and a bidi override.
HOSTILE = "x\nFORGED line\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eevil"

PLUGIN_MODULE = '''
from databay import hookimpl


@hookimpl
def databay_register_inlets(register):
    register("evil", "evil_nodes:EvilInlet")
'''

NODES = '''
from databay import Inlet, Outlet

HOSTILE = {hostile!r}


class Shown:
    def __repr__(self):
        return HOSTILE


class EvilInlet(Inlet):
    """Evil inlet. {hostile_doc}"""

    def __init__(self, key: {hostile!r} = "k", other=Shown(), **kwargs):
        super().__init__(**kwargs)

    def pull(self, update):
        return [HOSTILE]


class EvilOutlet(Outlet):
    def push(self, records, update):
        raise ConnectionError(HOSTILE)
'''

BROKEN_MODULE = f"raise ImportError({HOSTILE!r})\n"


def raw_controls(text: str) -> list[str]:
    """The control characters (newlines and tabs apart) and bidi overrides left in ``text``."""
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F
            or c in "\u2028\u2029" or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069]


def assert_safe(text: str) -> None:
    assert raw_controls(text) == [], text
    assert not any(line.startswith("FORGED") for line in text.splitlines()), text


def nodes_source() -> str:
    return NODES.format(hostile=HOSTILE, hostile_doc=HOSTILE.replace("\\", "\\\\"))


def distribution(site: Path, name: str, version: str, module: str, source: str) -> None:
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-{version[:3]}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[databay]\nplugin = {module}\n", encoding="utf-8")


@pytest.fixture
def hostile_env(tmp_path) -> dict[str, str]:
    """Two plugin distributions on PYTHONPATH whose names, versions, docs and errors are hostile."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "evil_nodes.py").write_text(nodes_source(), encoding="utf-8")
    distribution(site, "databay-evil\x1b[2J", "1.0\x1b[31m\u202e", "evil_plugin", PLUGIN_MODULE)
    distribution(site, "databay-rotten\x1b]0;t\x07", "2.0", "rotten_plugin", BROKEN_MODULE)
    return {"PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache"), "COLUMNS": "300"}


@pytest.mark.parametrize("args", [["plugins"], ["plugins", "--check"], ["inspect", "evil"],
                                  ["inspect", "evil", "--kind", "inlet"]])
def test_plugin_listings_escape_names_versions_docs_and_errors(installed, hostile_env, args):
    result = installed.databay(*args, env=hostile_env)
    assert result.returncode in (0, 1), result.stderr
    assert_safe(result.stderr)
    if args[0] == "plugins":
        assert_safe(result.stdout)
        assert "databay-evil\\x1b[2" in result.stdout.lower()
        assert "rotten" in result.stdout
    else:
        before_doc, doc = result.stdout.split("Evil inlet. ")
        assert_safe(before_doc)
        assert "key          x\\nFORGED line\\x1b[2J" in before_doc  # a parameter's annotation
        assert raw_controls(doc) == []  # the docstring keeps its lines, its other controls are escaped
        assert doc.startswith("x\nFORGED line\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eevil")


@pytest.mark.parametrize("args", [["plugins", "--json"], ["plugins", "--check", "--json"], ["inspect", "evil", "--json"]])
def test_json_outputs_stay_exact_json(installed, hostile_env, args):
    result = installed.databay(*args, env=hostile_env)
    assert_safe(result.stdout)
    data = json.loads(result.stdout)
    text = json.dumps(data)
    if args[0] == "inspect":
        assert data["doc"].startswith("Evil inlet. " + HOSTILE)
        assert data["parameters"][0]["type"] == HOSTILE
    else:
        assert "rotten" in text and "FORGED line" in text  # the broken plugin's error, intact inside JSON


HOSTILE_TOML = json.dumps(HOSTILE)  # a TOML basic string holding HOSTILE


def write_pipeline(folder: Path, extra: str = "") -> Path:
    (folder / "evil_nodes.py").write_text(nodes_source(), encoding="utf-8")
    path = folder / "evil.toml"
    path.write_text(textwrap.dedent(f"""
        [[links]]
        tags = [{HOSTILE_TOML}]
        interval = 1
        stage = "state/evil.stage"
        retry = {{ attempts = 1 }}
        inlets = [{{ use = "evil_nodes:EvilInlet", key = {HOSTILE_TOML} }}]
        outlets = ["evil_nodes:EvilOutlet"]
        {extra}
        """), encoding="utf-8")
    return path


def test_validate_summary_escapes_tags_keys_and_values(installed, tmp_path):
    write_pipeline(tmp_path)
    result = installed.databay("validate", "evil.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_safe(result.stdout)
    assert "links[0] x\\nFORGED line\\x1b[2J" in result.stdout
    shown = installed.databay("validate", "evil.toml", "--show", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert_safe(shown.stdout)
    as_json = installed.databay("validate", "evil.toml", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["links"][0]["tags"] == [HOSTILE]


def test_schedule_escapes_tags(installed, tmp_path):
    write_pipeline(tmp_path)
    result = installed.databay("schedule", "evil.toml", "--next", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_safe(result.stdout)
    assert "x\\nFORGED line\\x1b[2J" in result.stdout
    as_json = installed.databay("schedule", "evil.toml", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["links"][0]["tags"] == [HOSTILE]


def test_validate_problems_stay_one_line_each(installed, tmp_path):
    write_pipeline(tmp_path, extra=f'[[links]]\ninterval = 1\ninlets = [{{ use = "null", {HOSTILE_TOML} = 1 }}]\n'
                                   'outlets = ["null"]')
    result = installed.databay("validate", "evil.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert_safe(result.stderr)
    assert result.stderr.count("\n") == 2, result.stderr  # the heading and the one problem
    as_json = installed.databay("validate", "evil.toml", "--json", cwd=tmp_path)
    [problem] = json.loads(as_json.stdout)["problems"]
    assert HOSTILE in problem["message"]


def test_a_pipeline_file_name_cannot_forge_lines(installed, tmp_path):
    path = tmp_path / "a\nFORGED\x1b[2J.toml"
    path.write_text('[[links]]\ninterval = 1\ninlets = ["null"]\noutlets = ["null"]\n', encoding="utf-8")
    valid = installed.databay("validate", str(path))
    assert valid.returncode == 0, valid.stderr
    assert_safe(valid.stdout)
    path.write_text("[[links]]\ninterval = 0\n", encoding="utf-8")
    invalid = installed.databay("validate", str(path))
    assert invalid.returncode == 2
    assert_safe(invalid.stderr)


def test_stage_views_escape_labels_errors_and_records(installed, tmp_path):
    write_pipeline(tmp_path)
    run = installed.databay("run", "evil.toml", "--once", "--no-live", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert_safe(run.stdout)
    env = {"COLUMNS": "300"}
    for args in (["stage", "evil.toml"], ["stage", "evil.toml", "--list"], ["stage", "evil.toml", "--replay"],
                 ["stage", "evil.toml", "--export", "-"], ["stage", "evil.toml", "--purge", "--yes"]):
        result = installed.databay(*args, cwd=tmp_path, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert_safe(result.stdout)
        assert_safe(result.stderr)
        if args[-1] == "-":
            [row] = [json.loads(line) for line in result.stdout.splitlines()]
            assert row["payload"] == HOSTILE and HOSTILE in row["error"]  # the export is exact


def test_stage_json_stays_exact(installed, tmp_path):
    write_pipeline(tmp_path)
    installed.databay("run", "evil.toml", "--once", "--no-live", cwd=tmp_path)
    result = installed.databay("stage", "evil.toml", "--list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_safe(result.stdout)
    [batch] = json.loads(result.stdout)["batches"]
    assert batch["link"] == f"links[0] {HOSTILE}" and HOSTILE in batch["error"]
