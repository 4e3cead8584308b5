"""The parts without a server: URLs, file name templates, formats (with properties)."""

from __future__ import annotations

import datetime
import urllib.parse

import pytest
from databay_ftp.endpoint import Endpoint
from databay_ftp.errors import FtpFormatError
from databay_ftp.formats import decode, encode
from databay_ftp.naming import FilenameTemplate, check_name, transfer_number, transfer_time
from hypothesis import given
from hypothesis import strategies as st


def endpoint(url: str, password: str | None = None) -> Endpoint:
    return Endpoint.from_arguments("FtpOutlet", url, password, 30.0)


@pytest.mark.parametrize("url, directory, display", [
    ("ftp://alice@host/in/data", "/in/data", "ftp://alice@host:21/in/data"),
    ("ftp://host", "", "ftp://anonymous@host:21/~"),
    ("ftps://alice@host:990/", "/", "ftps://alice@host:990/"),
    ("sftp://bob@host/~/uploads/", "uploads", "sftp://bob@host:22/~/uploads"),
    ("sftp://bob@[::1]:2222/~", "", "sftp://bob@[::1]:2222/~"),
    ("ftp://a%40b@host/with%20space", "/with space", "ftp://a%40b@host:21/with space"),
])
def test_urls(url, directory, display):
    parsed = endpoint(url)
    assert (parsed.directory, parsed.display) == (directory, display)
    assert parsed.where("x/y.csv") == display.rstrip("/") + "/x/y.csv"


@given(st.text(min_size=8, max_size=30).filter(lambda p: p.strip() == p and p.isprintable()))
def test_a_password_in_the_url_is_decoded_and_never_shown(password):
    quoted = urllib.parse.quote(password, safe="")
    parsed = endpoint(f"ftp://user:{quoted}@host/dir")
    assert parsed.password == password
    assert parsed.display == "ftp://user@host:21/dir"
    assert "password=" not in repr(parsed)


def test_templates():
    at = transfer_time(datetime.datetime(2024, 5, 1, 12, 30, 5, tzinfo=datetime.UTC))
    values = {"tags": "a.b", "update": 7, "uuid": "u" * 32, "batch": "s-3", "time": at, "ext": "csv"}
    assert FilenameTemplate("{time:%Y/%m/%d}/{tags}-{update:04d}.{ext}").render(values) == "2024/05/01/a.b-0007.csv"
    assert FilenameTemplate("{time}").render(values) == "20240501T123005Z"


def test_times_and_transfer_numbers_of_staged_batches():
    """What Stage.BATCH_TIME and Stage.BATCH_UPDATE give {time} and {update}."""
    in_paris = datetime.datetime(2024, 5, 1, 14, 30, 5, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert f"{transfer_time(in_paris)}" == "20240501T123005Z" and transfer_time(in_paris).microsecond == 7
    assert [transfer_number(text) for text in ("todos.17", "a.b.0", "3")] == [17, 0, 3]
    for text in ("todos", "todos.", "a.-1", "a.١", 17):
        with pytest.raises(ValueError, match="is not the text of an update"):
            transfer_number(text)


@pytest.mark.parametrize("template, message", [
    ("", "non-empty"), ("{x}", r"unknown field \{x\}"), ("{tags.upper}", "unknown field"),
    ("{update:%Y}", "Invalid format"), ("../{uuid}", "relative path"), ("{", "Single '{'"),
])
def test_bad_templates(template, message):
    with pytest.raises(ValueError, match=message):
        FilenameTemplate(template)


@pytest.mark.parametrize("name", ["a/../b", "/a", "a//b", "./a", "a/", "a\x00b", "x" * 1025])
def test_names_must_stay_inside_the_directory(name):
    with pytest.raises(FtpFormatError):
        check_name(name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20)


def _describe(index: int) -> str:
    return f"record {index}"


@given(st.lists(json_values, min_size=1, max_size=10))
def test_jsonl_and_json_round_trip(payloads):
    for format in ("jsonl", "json"):
        content = encode(format, payloads, "utf-8", _describe)
        assert decode(format, content, "utf-8", "f") == payloads


@given(st.lists(st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=4), min_size=1, max_size=10))
def test_csv_round_trip(rows):
    content = encode("csv", rows, "utf-8", _describe)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    assert decode("csv", content, "utf-8", "f") == [{c: row.get(c, "") for c in columns} for row in rows]


def test_format_errors_name_the_record_and_the_file():
    with pytest.raises(FtpFormatError, match="record 1: it is not JSON"):
        encode("jsonl", [1, {1, 2}], "utf-8", _describe)
    with pytest.raises(FtpFormatError, match="record 0: a CSV row must be a mapping"):
        encode("csv", [5], "utf-8", _describe)
    with pytest.raises(FtpFormatError, match="record 0: a character cannot be written in encoding 'latin-1'"):
        encode("jsonl", ["€"], "latin-1", _describe)
    with pytest.raises(FtpFormatError, match="format 'bytes' writes payloads of type bytes or str, got int"):
        encode("bytes", [5], "utf-8", _describe)
    with pytest.raises(FtpFormatError, match="cannot read f: line 2 is not JSON"):
        decode("jsonl", b"1\n{\n", "utf-8", "f")
    with pytest.raises(FtpFormatError, match="cannot read f: byte 0 is not valid utf-8"):
        decode("csv", b"\xff", "utf-8", "f")
    with pytest.raises(FtpFormatError, match="names a column twice"):
        decode("csv", b"a,a\n1,2\n", "utf-8", "f")
