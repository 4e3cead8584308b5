"""Round trips with generated rows: written by CsvOutlet, read back by csv.DictReader and by CsvInlet."""

from __future__ import annotations

import csv
import itertools

from databay import Record
from databay.update import Update
from databay_csv import CsvInlet, CsvOutlet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
UPDATE = Update(["prop"], 0)
_runs = itertools.count()

# Any text UTF-8 can encode: quotes, delimiters, \r, \n, NUL, non-BMP characters.
text = st.text(st.characters(codec="utf-8"), max_size=12)
formats = st.sampled_from([
    {"dialect": "excel"},
    {"dialect": "excel-tab"},
    {"dialect": "unix"},
    {"delimiter": ";", "quotechar": "'", "lineterminator": "\n"},
    {"quoting": "all", "encoding": "utf-8-sig"},
])


@st.composite
def tables(draw, complete: bool = True):
    """Column names and pushes of rows (every column, or any subset of them)."""
    columns = draw(st.lists(text, min_size=1, max_size=5, unique=True))
    row = st.fixed_dictionaries({c: text for c in columns}) if complete else \
        st.fixed_dictionaries({}, optional={c: text for c in columns})
    pushes = draw(st.lists(st.lists(row, min_size=1, max_size=6), min_size=1, max_size=4))
    return columns, pushes


def reader_options(fmt: dict) -> dict:
    """What reading needs of a writing format (a reader reads quoted fields whatever the quoting)."""
    return {k: v for k, v in fmt.items() if k not in ("encoding", "lineterminator", "quoting")}


def read_back(path, fmt: dict) -> list[dict[str, str]]:
    with open(path, newline="", encoding=fmt.get("encoding", "utf-8")) as f:
        return list(csv.DictReader(f, **reader_options(fmt)))


@SETTINGS
@given(tables(), formats)
def test_rows_written_come_back_equal_from_dictreader_and_from_the_inlet(tmp_path, table, fmt) -> None:
    columns, pushes = table
    path = tmp_path / f"round{next(_runs)}.csv"
    outlet = CsvOutlet(path, **fmt)
    inlet = CsvInlet(path, **reader_options(fmt), encoding=fmt.get("encoding", "utf-8"))
    pulled = []
    for rows in pushes:
        outlet.push([Record(row) for row in rows], UPDATE)
        pulled += inlet.pull(UPDATE)
    written = [row for rows in pushes for row in rows]
    assert read_back(path, fmt) == written
    assert pulled == written
    assert inlet.pull(UPDATE) == []


@SETTINGS
@given(tables(complete=False))
def test_missing_columns_come_back_empty(tmp_path, table) -> None:
    columns, pushes = table
    path = tmp_path / f"sparse{next(_runs)}.csv"
    outlet = CsvOutlet(path, fieldnames=columns)
    for rows in pushes:
        outlet.push([Record(row) for row in rows], UPDATE)
    expected = [{c: row.get(c, "") for c in columns} for rows in pushes for row in rows]
    assert read_back(path, {}) == expected
    assert CsvInlet(path).pull(UPDATE) == expected


@SETTINGS
@given(tables(), st.lists(st.integers(1, 40), min_size=1, max_size=30), formats)
def test_the_inlet_delivers_each_row_once_whatever_pieces_the_file_grows_by(tmp_path, table, cuts, fmt) -> None:
    """The file grows by arbitrary byte pieces (cutting rows, quoted fields and UTF-8 characters);
    pulled after each piece, every row arrives once and whole."""
    columns, pushes = table
    source, grown = tmp_path / f"source{next(_runs)}.csv", tmp_path / f"grown{next(_runs)}.csv"
    outlet = CsvOutlet(source, **fmt)
    for rows in pushes:
        outlet.push([Record(row) for row in rows], UPDATE)
    data = source.read_bytes()
    inlet = CsvInlet(grown, **reader_options(fmt), encoding=fmt.get("encoding", "utf-8"))
    pulled, start = [], 0
    for size in itertools.chain(cuts, itertools.repeat(max(cuts))):
        if start >= len(data):
            break
        with open(grown, "ab") as f:
            f.write(data[start:start + size])
        start += size
        pulled += inlet.pull(UPDATE)
    assert pulled == [row for rows in pushes for row in rows]
