"""The built-in inlets and outlets: NullInlet, RandomIntInlet, FileInlet, NullOutlet, PrintOutlet, FileOutlet."""

from __future__ import annotations

import asyncio

import pytest
from databay import Link, Outlet, Record, Update
from databay.inlets.file_inlet import FileInlet, FileInletMode
from databay.inlets.null_inlet import NullInlet
from databay.inlets.random_int_inlet import RandomIntInlet
from databay.outlets.file_outlet import FileOutlet
from databay.outlets.null_outlet import NullOutlet
from databay.outlets.print_outlet import PrintOutlet

UPDATE = Update(["test"], 3)


def pull(inlet):
    return asyncio.run(inlet._pull(UPDATE))


def push(outlet, records, update=UPDATE):
    asyncio.run(outlet._push(records, update))


class Collect(Outlet):
    def __init__(self):
        super().__init__()
        self.batches = []

    def push(self, records, update):
        self.batches.append([r.payload for r in records])


def test_null_inlet_produces_nothing():
    inlet = NullInlet(metadata={"a": 1})
    assert inlet.pull(UPDATE) == []
    assert pull(inlet) == []
    outlet = Collect()
    stats = Link(inlet, outlet, 1).transfer()
    assert stats.records_pulled == 0 and outlet.batches == []


def test_random_int_inlet_defaults_and_range():
    inlet = RandomIntInlet()
    assert (inlet.min, inlet.max) == (0, 100)
    values = {inlet.pull(UPDATE) for _ in range(300)}
    assert values <= set(range(0, 101)) and len(values) > 1
    narrow = RandomIntInlet(min=10, max=12, metadata={"k": "v"})
    assert {narrow.pull(UPDATE) for _ in range(100)} <= {10, 11, 12}
    record = pull(narrow)[0]
    assert record.metadata == {"k": "v", "__inlet__": "RandomIntInlet(metadata={'k': 'v'})"}
    assert RandomIntInlet(5, 5).pull(UPDATE) == 5


def test_random_int_inlet_rejects_an_empty_range():
    with pytest.raises(ValueError, match=r"RandomIntInlet: min \(10\) must not be greater than max \(1\)"):
        RandomIntInlet(min=10, max=1)


def test_file_inlet_mode_values():
    assert FileInletMode.LINE.value == "line"
    assert FileInletMode.FILE.value == "file"
    assert FileInlet("x").read_mode is FileInletMode.LINE
    assert FileInlet("x", "file").read_mode is FileInletMode.FILE


def test_file_inlet_line_mode_reads_one_line_per_pull(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("first\nsecond\nthird", encoding="utf-8")
    inlet = FileInlet(path)
    inlet.try_start()
    assert inlet.file is not None and not inlet.file.closed
    assert [r.payload for r in pull(inlet)] == ["first\n"]
    assert [r.payload for r in pull(inlet)] == ["second\n"]
    assert [r.payload for r in pull(inlet)] == ["third"]
    assert pull(inlet) == []  # nothing new: no record
    with path.open("a", encoding="utf-8") as f:
        f.write("\nfourth\n")
    assert [r.payload for r in pull(inlet)] == ["\n"]
    assert [r.payload for r in pull(inlet)] == ["fourth\n"]
    handle = inlet.file
    inlet.try_shutdown()
    assert handle.closed and inlet.file is None


def test_file_inlet_line_mode_without_a_planner_opens_on_first_pull(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("only\n", encoding="utf-8")
    inlet = FileInlet(str(path))
    assert [r.payload for r in pull(inlet)] == ["only\n"]
    inlet.on_shutdown()


def test_file_inlet_file_mode_reads_the_whole_file_each_time(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    inlet = FileInlet(path, FileInletMode.FILE, metadata={"src": "f"})
    inlet.try_start()
    assert inlet.file is None  # only opened during a transfer
    assert [r.payload for r in pull(inlet)] == ["a\nb\n"]
    path.write_text("c", encoding="utf-8")
    records = pull(inlet)
    assert [r.payload for r in records] == ["c"]
    assert records[0].metadata["src"] == "f"


def test_file_inlet_encoding(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("café\n".encode("latin-1"))
    assert pull(FileInlet(path, FileInletMode.FILE, encoding="latin-1"))[0].payload == "café\n"


def test_file_inlet_missing_file(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError):
        FileInlet(missing).on_start()
    with pytest.raises(FileNotFoundError):
        FileInlet(missing, FileInletMode.FILE).pull(UPDATE)


def test_file_inlet_repr():
    assert repr(FileInlet("in.txt")) == "FileInlet(filepath=in.txt, read_mode=FileInletMode.LINE)"


def test_null_outlet_does_nothing():
    outlet = NullOutlet(processors=lambda rs: rs)
    assert len(outlet.processors) == 1
    assert asyncio.run(outlet.push([Record(1)], UPDATE)) is None
    stats = Link(RandomIntInlet(), outlet, 1).transfer()
    assert stats.records_pushed == 1


def test_print_outlet_prints_update_and_record(capsys):
    push(PrintOutlet(), [Record(1, {"a": 1}), Record("x")])
    assert capsys.readouterr().out == "test.3 Record(payload=1, metadata={'a': 1})\ntest.3 Record(payload=x, metadata={})\n"


def test_print_outlet_only_payload_and_skip_update(capsys):
    push(PrintOutlet(only_payload=True), [Record(1), Record(2)])
    assert capsys.readouterr().out == "test.3 1\ntest.3 2\n"
    push(PrintOutlet(only_payload=True, skip_update=True), [Record(1)])
    assert capsys.readouterr().out == "1\n"
    push(PrintOutlet(skip_update=True), [Record(5)])
    assert capsys.readouterr().out == "Record(payload=5, metadata={})\n"


def test_print_outlet_escapes_what_records_and_tags_hold(capsys):
    push(PrintOutlet(only_payload=True), [Record("a\x1b[2J\nFORGED\u202e")], Update(["t\nx"], 1))
    assert capsys.readouterr().out == "t\\nx.1 a\\x1b[2J\\nFORGED\\u202e\n"


def test_print_outlet_in_a_link(capsys):
    Link(RandomIntInlet(7, 7), PrintOutlet(only_payload=True), 1, tags="random_ints").transfer()
    assert capsys.readouterr().out == "random_ints.0 7\n"


def test_file_outlet_metadata_keys():
    assert FileOutlet.FILEPATH == "FileOutlet.FILEPATH"
    assert FileOutlet.FILE_MODE == "FileOutlet.FILE_MODE"
    assert FileOutlet.FILE_ENCODING == "FileOutlet.FILE_ENCODING"


def test_file_outlet_writes_one_line_per_record_and_appends_by_default(tmp_path):
    path = tmp_path / "outputs" / "random_ints.txt"  # the folder does not exist yet
    outlet = FileOutlet(default_filepath=path)
    assert (outlet.default_file_mode, outlet.default_encoding) == ("a", "utf-8")
    push(outlet, [Record(1), Record({"a": 2})])
    push(outlet, [Record(3)])
    assert path.read_text(encoding="utf-8") == "1\n{'a': 2}\n3\n"


def test_file_outlet_default_write_mode(tmp_path):
    path = tmp_path / "out.txt"
    outlet = FileOutlet(path, default_file_mode="w")
    push(outlet, [Record(1)])
    push(outlet, [Record(2), Record(3)])
    assert path.read_text(encoding="utf-8") == "2\n3\n"


def test_file_outlet_metadata_overrides_defaults(tmp_path):
    default = tmp_path / "default.txt"
    other = tmp_path / "sub" / "other.txt"
    other.parent.mkdir()
    other.write_text("old\n", encoding="utf-8")
    outlet = FileOutlet(default)
    push(outlet, [
        Record("to default"),
        Record("overwrite", {FileOutlet.FILEPATH: str(other), FileOutlet.FILE_MODE: "w"}),
        Record("again default"),
        Record("café", {FileOutlet.FILEPATH: other, FileOutlet.FILE_MODE: "w",
                        FileOutlet.FILE_ENCODING: "latin-1"}),
    ])
    assert default.read_text(encoding="utf-8") == "to default\nagain default\n"
    assert other.read_bytes() == "café\n".encode("latin-1")


def test_file_outlet_from_an_inlet_with_metadata(tmp_path):
    path = tmp_path / "cats.txt"
    inlet = RandomIntInlet(4, 4, metadata={FileOutlet.FILEPATH: str(path)})
    Link(inlet, FileOutlet(tmp_path / "unused.txt"), 1).transfer()
    assert path.read_text(encoding="utf-8") == "4\n"
    assert not (tmp_path / "unused.txt").exists()
