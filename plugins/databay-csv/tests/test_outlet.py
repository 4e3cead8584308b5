"""CsvOutlet against real files: the manual's behaviour, columns, files opened once, bad input."""

from __future__ import annotations

import builtins
import contextlib
import csv
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import databay_csv.outlet
import pytest
from databay import Link, Record
from databay.inlet import Inlet
from databay.planners import SchedulePlanner
from databay_csv import CsvColumnError, CsvFileError, CsvFormatError
from databay_csv.outlet import CsvOutlet

FILE = CsvOutlet.CSV_FILE
MODE = CsvOutlet.FILE_MODE


class ListInlet(Inlet):
    """Produces the given payloads (with local metadata, if given as (payload, metadata)) on each pull."""

    def __init__(self, items, **kwargs):
        super().__init__(**kwargs)
        self.items = items
        self.pulls = 0

    def pull(self, update):
        self.pulls += 1
        return [self.new_record(*item) if isinstance(item, tuple) else item for item in self.items]


@pytest.fixture
def opens(monkeypatch):
    """The paths the outlet module opens, in order (a counting wrapper around builtins.open)."""
    opened: list[str] = []

    def counting_open(file, *args, **kwargs):
        opened.append(os.fspath(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(databay_csv.outlet, "open", counting_open, raising=False)
    return opened


def raw(path) -> str:
    with open(path, newline="", encoding="utf-8") as f:
        return f.read()


# -- the manual's behaviour -------------------------------------------------------------


def test_metadata_keys_are_the_manuals() -> None:
    assert CsvOutlet.CSV_FILE == "CsvOutlet.CSV_FILE"
    assert CsvOutlet.FILE_MODE == "CsvOutlet.FILE_MODE"
    outlet = CsvOutlet("out.csv")
    assert (outlet.default_filepath, outlet.default_file_mode) == ("out.csv", "a")


def test_writes_a_header_then_rows_and_appends_without_repeating_it(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    outlet = CsvOutlet(path)
    outlet.push([Record({"id": 1, "name": "alpha"}), Record({"id": 2, "name": "beta"})], update)
    outlet.push([Record({"id": 3, "name": "gamma"})], update)
    CsvOutlet(path).push([Record({"id": 4, "name": "delta"})], update)  # another outlet, same file
    assert raw(path) == "id,name\r\n1,alpha\r\n2,beta\r\n3,gamma\r\n4,delta\r\n"


def test_an_existing_empty_file_gets_a_header(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    path.touch()
    CsvOutlet(path).push([Record({"a": 1})], update)
    assert raw(path) == "a\r\n1\r\n"


def test_metadata_routes_records_to_several_files_each_opened_once(tmp_path, update, opens, read_rows) -> None:
    default, cats, dogs = tmp_path / "default.csv", tmp_path / "cats.csv", tmp_path / "dogs.csv"
    outlet = CsvOutlet(default)
    records = [
        Record({"n": 1}, {FILE: str(cats)}),
        Record({"n": 2}, {FILE: dogs}),  # a PathLike works too
        Record({"n": 3}),
        Record({"n": 4}, {FILE: str(cats)}),
        Record({"n": 5}, {FILE: dogs}),
        Record({"n": 6}),
    ]
    outlet.push(records, update)
    assert read_rows(cats) == [{"n": "1"}, {"n": "4"}]
    assert read_rows(dogs) == [{"n": "2"}, {"n": "5"}]
    assert read_rows(default) == [{"n": "3"}, {"n": "6"}]
    assert sorted(opens) == sorted([str(cats), str(dogs), str(default)])

    opens.clear()
    outlet.push(records, update)  # appending: each file opened once, its header read on the way
    assert sorted(opens) == sorted([str(cats), str(dogs), str(default)])
    assert read_rows(cats) == [{"n": "1"}, {"n": "4"}] * 2


def test_a_push_of_many_records_opens_the_file_once(tmp_path, update, opens) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path).push([Record({"i": i}) for i in range(1000)], update)
    CsvOutlet(path).push([Record({"i": i}) for i in range(1000)], update)
    assert opens == [str(path), str(path)]
    assert raw(path).count("\r\n") == 2001


def test_the_same_file_named_two_ways_is_one_file(tmp_path, update, opens, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    outlet = CsvOutlet("out.csv")
    outlet.push([Record({"n": 1}), Record({"n": 2}, {FILE: "./out.csv"}), Record({"n": 3})], update)
    assert raw(tmp_path / "out.csv") == "n\r\n1\r\n2\r\n3\r\n"
    assert len(opens) == 1


def test_file_mode_w_replaces_the_file_on_each_push(tmp_path, update, read_rows) -> None:
    path = tmp_path / "snapshot.csv"
    outlet = CsvOutlet(path, "w")
    outlet.push([Record({"a": 1}), Record({"a": 2})], update)
    outlet.push([Record({"b": 3}), Record({"b": 4})], update)
    assert read_rows(path) == [{"b": "3"}, {"b": "4"}]


def test_file_mode_from_metadata(tmp_path, update, read_rows) -> None:
    path = tmp_path / "out.csv"
    outlet = CsvOutlet(path)
    outlet.push([Record({"a": 1})], update)
    outlet.push([Record({"a": 2}, {MODE: "w"}), Record({"a": 3}, {MODE: "w"})], update)
    assert read_rows(path) == [{"a": "2"}, {"a": "3"}]


def test_file_mode_x_creates_and_refuses_an_existing_file(tmp_path, update) -> None:
    path = tmp_path / "once.csv"
    outlet = CsvOutlet(path, "x")
    outlet.push([Record({"a": 1})], update)
    with pytest.raises(CsvFileError, match=rf"CsvOutlet cannot write to {path}: File exists"):
        outlet.push([Record({"a": 2})], update)
    assert raw(path) == "a\r\n1\r\n"


def test_one_file_in_two_modes_in_one_push_is_refused(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(ValueError, match=r"write to .*out\.csv in two modes, 'a' and 'w'"):
        CsvOutlet(path).push([Record({"a": 1}), Record({"a": 2}, {MODE: "w"})], update)
    assert not path.exists()


def test_parent_folders_are_created(tmp_path, update) -> None:
    path = tmp_path / "a" / "b" / "out.csv"
    CsvOutlet(path).push([Record({"a": 1})], update)
    assert raw(path) == "a\r\n1\r\n"


def test_records_are_not_modified(tmp_path, update) -> None:
    payloads = [{"a": 1, "b": [1, 2]}, {"a": 2}]
    records = [Record(dict(p), {FILE: str(tmp_path / "x.csv")}) for p in payloads]
    CsvOutlet(tmp_path / "out.csv").push(records, update)
    assert [r.payload for r in records] == payloads


# -- columns ---------------------------------------------------------------------------


def test_columns_of_a_new_file_are_every_key_of_the_push_in_order_of_appearance(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path).push([Record({"b": 1, "a": 2}), Record({"c": 3}), Record({"a": 4, "d": 5})], update)
    assert raw(path) == "b,a,c,d\r\n1,2,,\r\n,,3,\r\n,4,,5\r\n"


def test_rows_follow_the_existing_header_whatever_the_key_order(tmp_path, update, read_rows) -> None:
    path = tmp_path / "out.csv"
    path.write_text("x,y,z\n1,2,3\n", encoding="utf-8")
    CsvOutlet(path).push([Record({"z": "c", "x": "a", "y": "b"}), Record({"y": "only"})], update)
    assert read_rows(path) == [{"x": "1", "y": "2", "z": "3"}, {"x": "a", "y": "b", "z": "c"},
                               {"x": "", "y": "only", "z": ""}]


def test_missing_columns_get_restval(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path, fieldnames=["a", "b", "c"], restval="NA").push([Record({"b": 1})], update)
    assert raw(path) == "a,b,c\r\nNA,1,NA\r\n"


def test_a_new_column_raises_naming_column_record_and_file_and_writes_nothing(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    outlet = CsvOutlet(path)
    outlet.push([Record({"a": 1})], update)
    other = tmp_path / "other.csv"
    push = [Record({"a": 2}, {FILE: str(other)}), Record({"a": 3}), Record({"a": 4, "new": 5}, {"__inlet__": "X()"})]
    with pytest.raises(CsvColumnError) as caught:
        outlet.push(push, update)
    message = str(caught.value)
    assert f"cannot write record 2 of this push (from X()) to {path}: column 'new' is not in the file's " \
           f"columns ['a']" in message
    assert "Nothing of this push was written" in message
    assert raw(path) == "a\r\n1\r\n"
    assert not other.exists()  # the other file of the push is not written either


def test_a_key_outside_fieldnames_raises_even_for_a_new_file(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(CsvColumnError, match="column 'c' is not in the file's columns \\['a', 'b'\\]"):
        CsvOutlet(path, fieldnames=["a", "b"]).push([Record({"a": 1, "c": 2})], update)
    assert not path.exists()


def test_extrasaction_ignore_leaves_extra_keys_out(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path, fieldnames=["a"], extrasaction="ignore").push([Record({"a": 1, "b": 2})], update)
    assert raw(path) == "a\r\n1\r\n"


def test_fieldnames_different_from_the_files_header_raise(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    path.write_text("b,a\r\n1,2\r\n", encoding="utf-8")
    with pytest.raises(CsvColumnError, match=r"its header is \['b', 'a'\], but fieldnames are \['a', 'b'\]"):
        CsvOutlet(path, fieldnames=["a", "b"]).push([Record({"a": 1, "b": 2})], update)


def test_empty_payloads_without_fieldnames_raise(tmp_path, update) -> None:
    with pytest.raises(CsvColumnError, match="the records have no columns"):
        CsvOutlet(tmp_path / "out.csv").push([Record({})], update)


def test_appending_to_a_file_whose_last_line_has_no_line_end(tmp_path, update, read_rows) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"a,b\r\n1,2")
    CsvOutlet(path).push([Record({"a": 3, "b": 4})], update)
    assert read_rows(path) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    path.write_bytes(b"a,b")
    CsvOutlet(path).push([Record({"a": 5, "b": 6})], update)
    assert raw(path) == "a,b\r\n5,6\r\n"


# -- payloads --------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [5, "text", None, ("a", 1), [{"a": 1}, 7]])
def test_a_payload_that_is_not_a_dict_raises_naming_the_record_and_writes_nothing(tmp_path, update,
                                                                                  payload) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(TypeError, match=rf"CsvOutlet cannot write record 1 of this push \(no inlet\)(, element 1 "
                                        rf"of its list payload,)? to {path}: a row must be a mapping"):
        CsvOutlet(path).push([Record({"a": 0}), Record(payload)], update)
    assert not path.exists()


def test_a_list_payload_becomes_one_row_per_element(tmp_path, update, read_rows) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path).push([Record([{"a": 1}, {"a": 2}]), Record({"a": 3}), Record([])], update)
    assert read_rows(path) == [{"a": "1"}, {"a": "2"}, {"a": "3"}]


def test_any_mapping_is_a_row(tmp_path, update, read_rows) -> None:
    from collections import OrderedDict
    from types import MappingProxyType

    path = tmp_path / "out.csv"
    CsvOutlet(path).push([Record(OrderedDict(a=1)), Record(MappingProxyType({"a": 2}))], update)
    assert read_rows(path) == [{"a": "1"}, {"a": "2"}]


def test_keys_must_be_strings(tmp_path, update) -> None:
    with pytest.raises(TypeError, match="column names must be strings, got int 1"):
        CsvOutlet(tmp_path / "out.csv").push([Record({1: "a"})], update)


def test_values_are_written_as_the_csv_module_writes_them(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    CsvOutlet(path).push([Record({"none": None, "bool": True, "float": 0.1, "text": 'say "hi", twice\n'})], update)
    assert raw(path) == 'none,bool,float,text\r\n,True,0.1,"say ""hi"", twice\n"\r\n'


# -- format and encoding ---------------------------------------------------------------


def test_dialect_and_format_options(tmp_path, update) -> None:
    path = tmp_path / "out.tsv"
    outlet = CsvOutlet(path, dialect="excel-tab", quoting="all", lineterminator="\n")
    outlet.push([Record({"a": 1, "b": "x\ty"})], update)
    outlet.push([Record({"a": 2, "b": "z"})], update)
    assert raw(path) == '"a"\t"b"\n"1"\t"x\ty"\n"2"\t"z"\n'
    path = tmp_path / "semi.csv"
    CsvOutlet(path, delimiter=";", quotechar="'").push([Record({"a": "1;2", "b": 3})], update)
    assert raw(path) == "a;b\r\n'1;2';3\r\n"


def test_a_line_break_the_lineterminator_lacks_is_still_quoted(tmp_path, update, read_rows) -> None:
    # csv.writer quotes only the characters of its lineterminator: with '\n', a bare '\r' would
    # be written unquoted and read back as a line end.
    path = tmp_path / "lf.csv"
    CsvOutlet(path, lineterminator="\n").push([Record({"a": "x\ry", "b": 1}), Record({"a": "z", "b": 2})], update)
    assert raw(path) == 'a,b\n"x\ry","1"\nz,2\n'
    assert read_rows(path) == [{"a": "x\ry", "b": "1"}, {"a": "z", "b": "2"}]
    with pytest.raises(CsvFormatError, match=r"record 1 of this push .*quoting='none' with lineterminator"):
        CsvOutlet(tmp_path / "none.csv", lineterminator="\n", quoting="none", escapechar="\\").push(
            [Record({"a": "fine"}), Record({"a": "x\ry"})], update)


def test_utf8_sig_writes_the_byte_order_mark_once(tmp_path, update, read_rows) -> None:
    path = tmp_path / "excel.csv"
    outlet = CsvOutlet(path, encoding="utf-8-sig")
    outlet.push([Record({"name": "Zoë"})], update)
    outlet.push([Record({"name": "Łukasz"})], update)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfname\r\n") and data.count(b"\xef\xbb\xbf") == 1
    assert read_rows(path, encoding="utf-8-sig") == [{"name": "Zoë"}, {"name": "Łukasz"}]


def test_latin1(tmp_path, update) -> None:
    path = tmp_path / "latin.csv"
    CsvOutlet(path, encoding="latin-1").push([Record({"café": "crème"})], update)
    assert path.read_bytes() == "café\r\ncrème\r\n".encode("latin-1")


def test_a_value_the_encoding_cannot_write_raises_naming_the_record(tmp_path, update) -> None:
    path = tmp_path / "ascii.csv"
    with pytest.raises(CsvFormatError, match=rf"cannot write record 1 of this push \(no inlet\) to {path} in "
                                             r"encoding 'ascii'.*'\\xe9'"):
        CsvOutlet(path, encoding="ascii").push([Record({"a": "e"}), Record({"a": "é"})], update)
    assert not path.exists()


def test_a_value_the_dialect_cannot_write_raises(tmp_path, update) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(CsvFormatError, match="need to escape"):
        CsvOutlet(path, quoting="none").push([Record({"a": "x,y"})], update)
    assert not path.exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"default_filepath": ""}, "default_filepath must be a non-empty path"),
    ({"default_file_mode": "r"}, r"default_file_mode must be one of \['a', 'w', 'x'\]"),
    ({"encoding": "utf-16"}, "encoding 'utf-16' is not ASCII-compatible"),
    ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ({"delimiter": ";;"}, "invalid CSV format"),
    ({"dialect": "nope"}, "invalid CSV format"),
    ({"quoting": "sometimes"}, "quoting must be one of"),
    ({"fieldnames": ["a", "a"]}, "fieldnames name a column twice"),
    ({"fieldnames": []}, "fieldnames must be a non-empty list of strings"),
    ({"extrasaction": "drop"}, "extrasaction must be 'raise' or 'ignore'"),
])
def test_bad_arguments_are_refused_at_construction(kwargs, message) -> None:
    arguments = {"default_filepath": "out.csv", **kwargs}
    with pytest.raises(ValueError, match=message):
        CsvOutlet(**arguments)


def test_bad_metadata_is_refused_naming_the_record(tmp_path, update) -> None:
    outlet = CsvOutlet(tmp_path / "out.csv")
    with pytest.raises(ValueError, match=r"CsvOutlet.CSV_FILE in metadata of record 0 of this push \(no inlet\) "
                                         r"must be a non-empty path"):
        outlet.push([Record({"a": 1}, {FILE: 42})], update)
    with pytest.raises(ValueError, match=r"CsvOutlet.FILE_MODE in metadata of record 1 .* got \['a'\]"):
        outlet.push([Record({"a": 1}), Record({"a": 1}, {MODE: ["a"]})], update)


# -- unwritable paths ------------------------------------------------------------------


def test_a_parent_that_is_a_file(tmp_path, update) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    path = blocker / "out.csv"
    with pytest.raises(CsvFileError, match=rf"^CsvOutlet cannot write to {path}: {blocker} is not a folder$"):
        CsvOutlet(path).push([Record({"a": 1})], update)
    deeper = blocker / "sub" / "out.csv"
    with pytest.raises(CsvFileError, match=rf"^CsvOutlet cannot create the folder of {deeper}: Not a directory"):
        CsvOutlet(deeper).push([Record({"a": 1})], update)


def test_a_path_that_is_a_folder(tmp_path, update) -> None:
    with pytest.raises(CsvFileError, match=rf"^CsvOutlet cannot write to {tmp_path}: Is a directory$") as caught:
        CsvOutlet(tmp_path).push([Record({"a": 1})], update)
    assert caught.value.errno is not None and isinstance(caught.value, OSError)


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only for this process: chmod, or ``chattr +i`` for root (whom chmod doesn't stop)."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is not available: nothing makes a folder read-only for root")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_read_only_folder(tmp_path, update) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        with pytest.raises(CsvFileError, match=rf"^CsvOutlet cannot write to {folder / 'out.csv'}: "
                                               r"(Permission denied|Operation not permitted)$"):
            CsvOutlet(folder / "out.csv").push([Record({"a": 1})], update)


def test_an_unwritable_file_stops_the_link_with_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    link = Link(ListInlet([{"a": 1}]), CsvOutlet(blocker / "out.csv"), interval=1)
    with pytest.raises(CsvFileError, match="is not a folder"):
        link.transfer()


def test_with_ignore_exceptions_the_link_carries_on(tmp_path, caplog, read_rows) -> None:
    good, blocker = tmp_path / "good.csv", tmp_path / "blocker"
    blocker.write_text("")
    inlet = ListInlet([({"a": 1}, {FILE: str(blocker / "bad.csv")}), ({"a": 2}, {FILE: str(good)})])
    link = Link(inlet, CsvOutlet(good), interval=1, ignore_exceptions=True)
    with caplog.at_level(logging.ERROR):
        link.transfer()
    assert [r.getMessage() for r in caplog.records if "is not a folder" in r.getMessage()]
    assert not good.exists()  # the push failed as a whole: nothing half written
    blocker.unlink()
    link.transfer()
    assert read_rows(good) == [{"a": "2"}]
    assert read_rows(blocker / "bad.csv") == [{"a": "1"}]


# -- in links and planners -------------------------------------------------------------


def test_standalone_link_transfer(tmp_path, read_rows) -> None:
    path = tmp_path / "out.csv"
    link = Link(ListInlet([{"n": 1}, {"n": 2}]), CsvOutlet(path), interval=1)
    link.transfer()
    link.transfer()
    assert read_rows(path) == [{"n": "1"}, {"n": "2"}] * 2


def test_under_a_running_schedule_planner(tmp_path, run_planner, wait_until, read_rows) -> None:
    cats, dogs = tmp_path / "cats.csv", tmp_path / "dogs.csv"
    outlet = CsvOutlet(tmp_path / "unused.csv")
    inlet_a = ListInlet([{"animal": "cat"}], metadata={FILE: str(cats)})
    inlet_b = ListInlet([{"animal": "dog"}], metadata={FILE: str(dogs)})
    planner = SchedulePlanner([Link(inlet_a, outlet, interval=0.05), Link(inlet_b, outlet, interval=0.05)])
    run_planner(planner)
    assert wait_until(lambda: inlet_a.pulls >= 5 and inlet_b.pulls >= 5)
    planner.shutdown(wait=True)
    assert not outlet.active
    assert read_rows(cats) == [{"animal": "cat"}] * inlet_a.pulls
    assert read_rows(dogs) == [{"animal": "dog"}] * inlet_b.pulls
    with open(cats, newline="") as f:
        assert [row for row in csv.reader(f)].count(["animal"]) == 1


def test_repr() -> None:
    assert repr(CsvOutlet("out.csv")) == "CsvOutlet(out.csv)"
