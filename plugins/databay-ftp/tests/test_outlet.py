"""FtpOutlet against real FTP, FTPS and SFTP servers: formats, names, atomic uploads, connections."""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import threading

import pytest
from databay import Record, Update
from databay_ftp import FtpFormatError, FtpOutlet


def outlet_for(remote, **kwargs) -> FtpOutlet:
    return FtpOutlet(remote.url, **{**remote.components_kwargs(), **kwargs})


def records(*payloads, **metadata) -> list[Record]:
    return [Record(p, dict(metadata)) for p in payloads]


def test_jsonl_one_file_per_push(remote, update):
    outlet = outlet_for(remote, filename="{tags}-{update}.{ext}")
    outlet.push(records({"a": 1}, {"a": 2, "b": "é"}), update)
    outlet.push(records({"a": 3}), Update(["test"], 2))
    outlet.on_shutdown()
    assert remote.files() == {"test-1.jsonl": '{"a": 1}\n{"a": 2, "b": "é"}\n'.encode(),
                              "test-2.jsonl": b'{"a": 3}\n'}


def test_csv_and_json_formats(remote, update):
    outlet = outlet_for(remote, filename="rows.{ext}", format="csv")
    outlet.push(records({"a": 1, "b": "x,y"}, {"b": None, "c": True}, [{"a": 5}, {"c": 6}]), update)
    outlet.on_shutdown()
    outlet = outlet_for(remote, filename="all.{ext}", format="json")
    outlet.push(records({"a": 1}, [1, 2], "s"), update)
    outlet.on_shutdown()
    files = remote.files()
    assert list(csv.reader(io.StringIO(files["rows.csv"].decode(), newline=""))) == [
        ["a", "b", "c"], ["1", "x,y", ""], ["", "", "True"], ["5", "", ""], ["", "", "6"]]
    assert files["rows.csv"].endswith(b"\r\n")
    assert json.loads(files["all.json"]) == [{"a": 1}, [1, 2], "s"]


def test_bytes_one_file_per_record(remote, update):
    outlet = outlet_for(remote, filename="blob-{uuid}.{ext}", format="bytes")
    outlet.push(records(b"\x00\x01", "text ü", bytearray(b"ba")), update)
    outlet.on_shutdown()
    files = remote.files()
    assert sorted(files.values()) == [b"\x00\x01", b"ba", "text ü".encode()]
    assert all(name.startswith("blob-") and name.endswith(".bin") for name in files)


def test_bytes_names_must_differ(remote, update):
    outlet = outlet_for(remote, filename="same.bin", format="bytes")
    with pytest.raises(FtpFormatError, match=r"record 1 of this push .* is the file of record 0 too"):
        outlet.push(records(b"1", b"2"), update)
    outlet.on_shutdown()
    assert remote.files() == {}


def test_template_fields_and_subdirectories(remote):
    outlet = outlet_for(remote, filename="{time:%Y/%m}/{tags}/{update:03d}-{uuid}.{ext}")
    before = datetime.datetime.now(datetime.UTC)
    outlet.push(records({"n": 1}), Update(["a", "b"], 7))
    outlet.on_shutdown()
    [name] = remote.files()
    month, tags, rest = name.rsplit("/", 2)
    assert month in (before.strftime("%Y/%m"), datetime.datetime.now(datetime.UTC).strftime("%Y/%m"))
    assert tags == "a.b" and rest.startswith("007-") and len(rest) == len("007-") + 32 + len(".jsonl")


def test_records_choose_their_file_through_metadata(remote, update):
    outlet = outlet_for(remote, filename="default.jsonl")
    outlet.push([Record({"n": 1}), Record({"n": 2}, {FtpOutlet.FILENAME: "other/{tags}.jsonl"}),
                 Record({"n": 3}), Record({"n": 4}, {FtpOutlet.FILENAME: "other/{tags}.jsonl"})], update)
    outlet.on_shutdown()
    assert remote.files() == {"default.jsonl": b'{"n": 1}\n{"n": 3}\n', "other/test.jsonl": b'{"n": 2}\n{"n": 4}\n'}


@pytest.mark.parametrize("template, message", [
    ("../escape.jsonl", "must be a relative path"),
    ("/abs.jsonl", "must be a relative path"),
    ("a//b.jsonl", "must be a relative path"),
    ("{nope}.jsonl", r"unknown field \{nope\}"),
    ("{time:%Y}\n.jsonl", "control character"),
])
def test_bad_templates_in_metadata_are_refused_before_any_upload(remote, update, template, message):
    outlet = outlet_for(remote, filename="ok.jsonl")
    with pytest.raises(ValueError, match=message):
        outlet.push([Record({"n": 1}), Record({"n": 2}, {FtpOutlet.FILENAME: template})], update)
    outlet.on_shutdown()
    assert remote.files() == {}


def test_a_record_that_cannot_be_written_uploads_nothing(remote, update):
    outlet = outlet_for(remote, filename="{uuid}.jsonl")
    bad = Record({"when": datetime.date(2024, 1, 1)}, {"__inlet__": "Source()"})
    with pytest.raises(FtpFormatError, match=r"cannot write record 1 of this push \(from Source\(\)\) to "
                                             r".*\.jsonl: it is not JSON: Object of type date"):
        outlet.push([Record({"n": 1}, {FtpOutlet.FILENAME: "first.jsonl"}), bad], update)
    with pytest.raises(FtpFormatError, match="it is not JSON: Out of range float values"):
        outlet.push(records({"x": float("nan")}), update)
    outlet.on_shutdown()
    assert remote.files() == {}


def test_an_existing_file_is_replaced(remote, update):
    remote.write("same.jsonl", b"old content that is longer\n")
    outlet = outlet_for(remote, filename="same.jsonl")
    outlet.push(records({"n": 1}), update)
    outlet.on_shutdown()
    assert remote.files() == {"same.jsonl": b'{"n": 1}\n'}


def test_readers_never_see_part_of_a_file(remote, update):
    """While big files are uploaded, a reader polling the directory only ever finds whole files."""
    payload = {"data": "x" * 1_000_000}
    expected = (json.dumps(payload) + "\n").encode()
    outlet = outlet_for(remote, filename="{update}.jsonl")
    seen: list[bytes] = []
    stop = threading.Event()

    def read_continuously() -> None:
        with remote.client() as client:
            while not stop.is_set():
                for name in client.names():
                    if not name.startswith("."):  # temporary names are hidden
                        seen.append(client.read(name))

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for number in range(4):
            outlet.push(records(payload), Update(["t"], number))
    finally:
        stop.set()
        reader.join(30)
        outlet.on_shutdown()
    assert seen, "the reader saw no file"
    assert all(content == expected for content in seen)


def test_no_temporary_file_is_left(remote, update):
    outlet = outlet_for(remote, filename="d/{uuid}.jsonl")
    outlet.push(records({"n": 1}), update)
    outlet.on_shutdown()
    with remote.client() as client:
        assert [name.split("/")[-1][0] for name in client.names()] != ["."]
        assert len(client.names()) == 1


def test_the_connection_is_reused_until_idle(remote, update):
    outlet = outlet_for(remote, filename="{update}.jsonl")
    outlet.push(records({"n": 1}), Update(["t"], 1))
    first = outlet._connection._session
    outlet.push(records({"n": 2}), Update(["t"], 2))
    assert outlet._connection._session is first
    outlet._connection.idle_timeout = 0
    outlet.push(records({"n": 3}), Update(["t"], 3))
    assert outlet._connection._session is not first
    outlet.on_shutdown()
    assert not outlet._connection.is_open
    assert len(remote.files()) == 3


def test_a_connection_the_server_closed_is_replaced(local_only, update):
    """The server restarts between two pushes: the second push logs in again and succeeds."""
    remote = local_only
    outlet = outlet_for(remote, filename="{update}.jsonl")
    outlet.push(records({"n": 1}), Update(["t"], 1))
    remote.server.stop()
    remote.server.start()
    outlet.push(records({"n": 2}), Update(["t"], 2))
    outlet.on_shutdown()
    assert sorted(remote.files()) == ["1.jsonl", "2.jsonl"]


def test_logs_each_upload_without_the_password(remote, update, caplog):
    outlet = outlet_for(remote, filename="log.jsonl")
    with caplog.at_level(logging.INFO, logger="databay.FtpOutlet"):
        outlet.push(records({"n": 1}), update)
    outlet.on_shutdown()
    assert f"test.1 uploaded {remote.url}/log.jsonl (9 bytes)" in caplog.text
    assert remote.password not in caplog.text


def test_repr_and_url_show_no_password(remote):
    outlet = outlet_for(remote)
    assert repr(outlet) == f"FtpOutlet({remote.url})"
    assert remote.password not in repr(outlet) + outlet.url + repr(outlet.endpoint)


def test_a_filename_in_metadata_must_be_a_string(remote, update):
    outlet = outlet_for(remote)
    with pytest.raises(ValueError, match=r"record 0 of this push \(no inlet\) has metadata\['FtpOutlet.FILENAME'\] = "
                                         r"\['x'\]; it must be a file name template"):
        outlet.push([Record({"n": 1}, {FtpOutlet.FILENAME: ["x"]})], update)
    outlet.on_shutdown()
