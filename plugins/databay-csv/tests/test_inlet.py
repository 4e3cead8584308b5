"""CsvInlet against real files: growing, partial, truncated and rotated files, positions, bad input."""

from __future__ import annotations

import json
import logging
import os

import pytest
from databay import Link, Record
from databay.outlet import Outlet
from databay.planners import SchedulePlanner
from databay_csv import CsvFileError, CsvFormatError, CsvInlet, CsvOutlet


class Collect(Outlet):
    def __init__(self):
        super().__init__()
        self.payloads = []

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)


def append(path, text: str, encoding: str = "utf-8") -> None:
    with open(path, "a", newline="", encoding=encoding) as f:
        f.write(text)


@pytest.mark.parametrize("before, steps", [
    pytest.param(None, [("", []), ("", []), ("a,b\r\n1,2\r\n", [{"a": "1", "b": "2"}])],
                 id="a missing file gives no records until it exists"),
    pytest.param("id,name\r\n1,one\r\n", [
        ("", [{"id": "1", "name": "one"}]),
        ("", []),
        ("2,two\r\n3,three\r\n", [{"id": "2", "name": "two"}, {"id": "3", "name": "three"}]),
        ("4,four\n", [{"id": "4", "name": "four"}]),  # a plain \n line end works too
        ("", []),
    ], id="a growing file delivers each row once"),
    pytest.param("a,b\r\n1,2\r\n3,", [
        ("", [{"a": "1", "b": "2"}]),
        ("4\r", []),  # half of the line end
        ("\n5,6\r\n", [{"a": "3", "b": "4"}, {"a": "5", "b": "6"}]),
    ], id="a partial last line waits for its line end"),
    pytest.param("a,", [("", []), ("b\r\n1,2\r\n", [{"a": "1", "b": "2"}])], id="a partial header waits too"),
    pytest.param('a,b\r\n1,"line one\r\n', [
        ("", []),
        ('line two"\r\n2,x\r\n', [{"a": "1", "b": "line one\r\nline two"}, {"a": "2", "b": "x"}]),
    ], id="an open quoted field waits for its closing quote"),
])
def test_each_row_is_delivered_once_complete(tmp_path, update, before, steps) -> None:
    """The file holds ``before`` (``None``: no file yet) when the inlet is made; then each step
    appends its text and the next pull gives its rows."""
    path = tmp_path / "data.csv"
    if before is not None:
        append(path, before)
    inlet = CsvInlet(path)
    for text, rows in steps:
        if text:
            append(path, text)
        assert inlet.pull(update) == rows


def test_a_partial_header_is_not_taken_for_the_header(tmp_path, update) -> None:
    path = tmp_path / "partial.csv"
    append(path, "a,")
    inlet = CsvInlet(path)
    assert inlet.pull(update) == []
    assert inlet.position["header"] is None


def test_a_truncated_file_is_read_again_from_the_top(tmp_path, update, caplog) -> None:
    path = tmp_path / "t.csv"
    append(path, "a\r\n1\r\n2\r\n3\r\n")
    inlet = CsvInlet(path)
    assert len(inlet.pull(update)) == 3
    path.write_text("a\r\n9\r\n", newline="")
    with caplog.at_level(logging.WARNING, "databay.CsvInlet"):
        assert inlet.pull(update) == [{"a": "9"}]
    assert f"CsvInlet: {path} was truncated since the last pull; reading it from the top" in caplog.text


def test_a_file_rewritten_past_the_position_is_read_again_from_the_top(tmp_path, update, caplog) -> None:
    path = tmp_path / "t.csv"
    append(path, "a\r\n1\r\n")
    inlet = CsvInlet(path)
    assert inlet.pull(update) == [{"a": "1"}]
    with open(path, "r+", newline="") as f:  # same file (inode), new content longer than before
        f.write("a\r\n7\r\n8\r\n")
    with caplog.at_level(logging.WARNING, "databay.CsvInlet"):
        assert inlet.pull(update) == [{"a": "7"}, {"a": "8"}]
    assert "was rewritten since the last pull" in caplog.text


def test_a_rotated_file_is_read_from_the_top(tmp_path, update, caplog) -> None:
    path = tmp_path / "log.csv"
    append(path, "a\r\n1\r\n2\r\n")
    inlet = CsvInlet(path)
    assert len(inlet.pull(update)) == 2
    os.rename(path, tmp_path / "log.1.csv")
    assert inlet.pull(update) == []  # nothing at the path between the rename and the new file
    append(path, "b\r\n3\r\n4\r\n5\r\n")  # a new file, longer than the old position
    with caplog.at_level(logging.WARNING, "databay.CsvInlet"):
        assert inlet.pull(update) == [{"b": "3"}, {"b": "4"}, {"b": "5"}]
    assert "was replaced by another file since the last pull" in caplog.text


def test_start_at_end_skips_existing_rows_but_reads_the_header(tmp_path, update) -> None:
    path = tmp_path / "existing.csv"
    append(path, "a,b\r\n1,2\r\n3,")
    inlet = CsvInlet(path, start_at="end")
    inlet.on_start()
    append(path, "4\r\n5,6\r\n")  # the row being written when it started is read once complete
    assert inlet.pull(update) == [{"a": "3", "b": "4"}, {"a": "5", "b": "6"}]


def test_start_at_end_without_a_start_takes_the_end_at_the_first_pull(tmp_path, update) -> None:
    path = tmp_path / "existing.csv"
    append(path, "a\r\n1\r\n")
    inlet = CsvInlet(path, start_at="end")
    assert inlet.pull(update) == []
    append(path, "2\r\n")
    assert inlet.pull(update) == [{"a": "2"}]


def test_start_at_end_reads_a_file_created_later_from_the_top(tmp_path, update) -> None:
    path = tmp_path / "new.csv"
    inlet = CsvInlet(path, start_at="end")
    inlet.on_start()
    append(path, "a\r\n1\r\n")
    assert inlet.pull(update) == [{"a": "1"}]


def test_max_rows(tmp_path, update) -> None:
    path = tmp_path / "many.csv"
    append(path, "n\r\n" + "".join(f"{i}\r\n" for i in range(5)))
    inlet = CsvInlet(path, max_rows=2)
    assert [inlet.pull(update) for _ in range(4)] == [[{"n": "0"}, {"n": "1"}], [{"n": "2"}, {"n": "3"}],
                                                      [{"n": "4"}], []]


def test_fieldnames_and_has_header(tmp_path, update) -> None:
    headed, bare = tmp_path / "headed.csv", tmp_path / "bare.csv"
    append(headed, "A,B\r\n1,2\r\n")
    append(bare, "1,2\r\n")
    assert CsvInlet(headed, fieldnames=["x", "y"]).pull(update) == [{"x": "1", "y": "2"}]
    assert CsvInlet(bare, fieldnames=["x", "y"], has_header=False).pull(update) == [{"x": "1", "y": "2"}]


def test_uneven_rows_keep_every_value_as_dictreader_does(tmp_path, update) -> None:
    path = tmp_path / "uneven.csv"
    append(path, "a,b\r\n1,2,3,4\r\n5\r\n\r\n6,7\r\n")
    assert CsvInlet(path).pull(update) == [{"a": "1", "b": "2", None: ["3", "4"]}, {"a": "5", "b": None},
                                           {"a": "6", "b": "7"}]
    assert CsvInlet(path, restkey="extra", restval="").pull(update)[:2] == [
        {"a": "1", "b": "2", "extra": ["3", "4"]}, {"a": "5", "b": ""}]


def test_format_options_and_encoding(tmp_path, update) -> None:
    path = tmp_path / "semi.csv"
    append(path, "\ufeffnom;prénom\r\n'Dupont; Jr';Zoë\r\n", encoding="utf-8")
    inlet = CsvInlet(path, encoding="utf-8-sig", delimiter=";", quotechar="'")
    assert inlet.pull(update) == [{"nom": "Dupont; Jr", "prénom": "Zoë"}]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("café\ncrème\n".encode("latin-1"))
    assert CsvInlet(latin, encoding="latin-1", dialect="unix").pull(update) == [{"café": "crème"}]


# -- the position ----------------------------------------------------------------------


def test_position_is_json_and_restores_in_a_new_inlet(tmp_path, update) -> None:
    path = tmp_path / "p.csv"
    append(path, "a\r\n1\r\n2\r\n")
    first = CsvInlet(path)
    assert first.position is None
    first.pull(update)
    saved = json.dumps(first.position)
    assert set(json.loads(saved)) == {"offset", "header", "file", "checksum"}
    append(path, "3\r\n")
    second = CsvInlet(path, position=json.loads(saved))
    assert second.pull(update) == [{"a": "3"}]
    third = CsvInlet(path)
    third.position = json.loads(saved)
    assert third.pull(update) == [{"a": "3"}]


def test_position_is_a_copy_and_none_starts_over(tmp_path, update) -> None:
    path = tmp_path / "p.csv"
    append(path, "a\r\n1\r\n")
    inlet = CsvInlet(path)
    inlet.pull(update)
    inlet.position["header"].append("changed")
    assert inlet.position["header"] == ["a"]
    inlet.position = None
    assert inlet.pull(update) == [{"a": "1"}]


def test_a_position_with_only_an_offset_reads_the_header_from_the_top(tmp_path, update) -> None:
    path = tmp_path / "p.csv"
    append(path, "a,b\r\n1,2\r\n3,4\r\n")
    assert CsvInlet(path, position={"offset": 10}).pull(update) == [{"a": "3", "b": "4"}]


def test_a_failed_pull_leaves_the_position_where_it_was(tmp_path, update) -> None:
    path = tmp_path / "p.csv"
    append(path, "a\r\n1\r\n")
    inlet = CsvInlet(path)
    inlet.pull(update)
    before = inlet.position
    with open(path, "ab") as f:
        f.write(b"\xff\r\n")  # not UTF-8
    with pytest.raises(CsvFormatError):
        inlet.pull(update)
    assert inlet.position == before


@pytest.mark.parametrize(("position", "message"), [
    ({"offset": -1}, "non-negative int 'offset'"),
    ("10", "non-negative int 'offset'"),
    ({"offset": 1, "extra": 2}, r"unknown key\(s\) \['extra'\]"),
    ({"offset": 1, "header": "a,b"}, "'header' must be a list of strings"),
    ({"offset": 1, "file": [1]}, r"'file' must be \[device, inode\]"),
])
def test_bad_positions_are_refused(tmp_path, position, message) -> None:
    with pytest.raises(ValueError, match=message):
        CsvInlet(tmp_path / "p.csv", position=position)


# -- bad input -------------------------------------------------------------------------


def test_invalid_bytes_raise_naming_file_and_offset_after_the_good_rows(tmp_path, update) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a\r\n1\r\n\xff\r\n2\r\n")
    inlet = CsvInlet(path)
    assert inlet.pull(update) == [{"a": "1"}]  # the rows before the bad one are produced
    with pytest.raises(CsvFormatError, match=rf"CsvInlet cannot read {path}: the row at byte 6 is not valid CSV "
                                             r"in encoding 'utf-8'"):
        inlet.pull(update)
    with pytest.raises(CsvFormatError):  # it stays there, losing nothing, until the file is fixed
        inlet.pull(update)


def test_a_duplicate_column_in_the_header_is_refused(tmp_path, update) -> None:
    path = tmp_path / "dup.csv"
    append(path, "a,b,a\r\n1,2,3\r\n")
    with pytest.raises(CsvFormatError, match=r"the header of .*dup\.csv name\(s\) the column\(s\) \['a'\] more "
                                             r"than once"):
        CsvInlet(path).pull(update)
    assert CsvInlet(path, fieldnames=["a1", "b", "a2"]).pull(update) == [{"a1": "1", "b": "2", "a2": "3"}]


def test_a_path_that_cannot_be_read(tmp_path, update) -> None:
    with pytest.raises(CsvFileError, match=rf"^CsvInlet cannot read {tmp_path}: Is a directory$"):
        CsvInlet(tmp_path).pull(update)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(CsvFileError, match="Not a directory"):
        CsvInlet(blocker / "x.csv").pull(update)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filepath": ""}, "filepath must be a non-empty path"),
    ({"has_header": False}, "needs fieldnames"),
    ({"start_at": "middle"}, "start_at must be one of"),
    ({"max_rows": 0}, "max_rows must be a positive integer"),
    ({"fieldnames": ["a", "a"]}, "more than once"),
    ({"encoding": "utf-32"}, "not ASCII-compatible"),
    ({"escapechar": "ab"}, "invalid CSV format"),
])
def test_bad_arguments_are_refused_at_construction(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        CsvInlet(**{"filepath": "in.csv", **kwargs})


def test_with_ignore_exceptions_the_link_carries_on(tmp_path, caplog) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a\r\n\xff\r\n")
    collect = Collect()
    link = Link(CsvInlet(path), collect, interval=1, ignore_exceptions=True)
    with caplog.at_level(logging.ERROR):
        link.transfer()
    assert "the row at byte 3 is not valid CSV" in caplog.text
    path.write_bytes(b"a\r\nfixed\r\n")  # the failed pull did not move the position: the fix is read
    link.transfer()
    assert collect.payloads == [{"a": "fixed"}]


# -- in links and planners -------------------------------------------------------------


def test_standalone_link_transfer_moves_each_appended_row_once(tmp_path) -> None:
    path = tmp_path / "in.csv"
    collect = Collect()
    link = Link(CsvInlet(path, metadata={"source": "in"}), collect, interval=1)
    link.transfer()
    append(path, "a\r\n1\r\n")
    link.transfer()
    link.transfer()
    append(path, "2\r\n")
    link.transfer()
    assert collect.payloads == [{"a": "1"}, {"a": "2"}]


def test_csv_to_csv_under_a_running_schedule_planner(tmp_path, update, run_planner, wait_until,
                                                     read_rows) -> None:
    source, target = tmp_path / "source.csv", tmp_path / "target.csv"
    writer = CsvOutlet(source)
    planner = SchedulePlanner(Link(CsvInlet(source), CsvOutlet(target), interval=0.02))
    run_planner(planner)
    written = []
    for batch in range(20):  # appends race with the planner's pulls: every row must arrive once
        rows = [{"batch": str(batch), "n": str(n), "text": f"row {n}, \"quoted\"\nsecond line"} for n in range(7)]
        writer.push([Record(row) for row in rows], update)
        written += rows
    assert wait_until(lambda: target.exists() and len(read_rows(target)) >= len(written))
    planner.shutdown(wait=True)
    assert read_rows(target) == written


def test_repr() -> None:
    assert repr(CsvInlet("in.csv")) == "CsvInlet(in.csv)"
    assert repr(CsvInlet("in.csv", metadata={"k": 1})) == "CsvInlet(in.csv, metadata={'k': 1})"
