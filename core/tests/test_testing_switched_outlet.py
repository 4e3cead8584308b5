"""databay.testing.SwitchedOutlet: down until its switch file exists, then it appends the
payloads as JSON lines; a pipeline names it by its import string."""

from __future__ import annotations

import json

import pytest
from databay import Record, load_pipeline
from databay.testing import SwitchedOutlet


def test_down_until_the_switch_file_exists_then_it_appends_json_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outlet = SwitchedOutlet(error="warehouse down")
    with pytest.raises(ConnectionError, match="^warehouse down$"):
        outlet.push([Record({"n": 1})], None)
    assert not (tmp_path / "delivered.jsonl").exists()
    (tmp_path / "up").touch()
    outlet.push([Record({"n": 1}), Record(2)], None)
    outlet.push([Record("three")], None)
    lines = (tmp_path / "delivered.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"n": 1}, 2, "three"]


def test_its_files_can_be_named(tmp_path):
    outlet = SwitchedOutlet(path=str(tmp_path / "out.jsonl"), switch=str(tmp_path / "on"))
    with pytest.raises(ConnectionError, match="^down$"):
        outlet.push([Record(1)], None)
    (tmp_path / "on").touch()
    outlet.push([Record(1)], None)
    assert (tmp_path / "out.jsonl").read_text() == "1\n"


def test_a_pipeline_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = load_pipeline("""
        [[links]]
        tags = ["t"]
        interval = 1
        inlets = ["random_int"]
        outlets = [{ use = "databay.testing:SwitchedOutlet", error = "warehouse down" }]
    """)
    [link] = pipeline.links
    [outlet] = link.outlets
    assert isinstance(outlet, SwitchedOutlet) and outlet.error == "warehouse down"
