"""FtpInlet against real FTP, FTPS and SFTP servers: new and changed files, formats, bounds, position."""

from __future__ import annotations

import json
import os
import time

import pytest
from databay_ftp import FtpFormatError, FtpInlet


def inlet_for(remote, **kwargs) -> FtpInlet:
    return FtpInlet(remote.url, **{**remote.components_kwargs(), **kwargs})


def pull(inlet: FtpInlet) -> list:
    return [record.payload for record in inlet.pull(None)]


def test_new_files_once_each_oldest_first(remote):
    inlet = inlet_for(remote)
    assert pull(inlet) == []
    remote.write("b.bin", b"B")
    remote.write("a.bin", b"A")
    with remote.client() as client:  # the same second: then by name
        names = client.names()
    assert sorted(pull(inlet)) == [b"A", b"B"] and names == ["a.bin", "b.bin"]
    assert pull(inlet) == []
    remote.write("c.bin", b"C")
    records = inlet.pull(None)
    inlet.on_shutdown()
    assert [r.payload for r in records] == [b"C"]
    assert records[0].metadata[FtpInlet.FILE] == "c.bin"
    assert records[0].metadata["__inlet__"] == repr(inlet)


def test_a_changed_file_is_read_again(remote):
    inlet = inlet_for(remote, format="jsonl")
    remote.write("data.jsonl", b'{"n": 1}\n')
    assert pull(inlet) == [{"n": 1}]
    remote.write("data.jsonl", b'{"n": 1}\n{"n": 2}\n')  # another size
    assert pull(inlet) == [{"n": 1}, {"n": 2}]
    assert pull(inlet) == []
    inlet.on_shutdown()


def test_pattern_and_hidden_files(remote):
    for name in ("x.csv", "y.txt", ".hidden.csv", "X.CSV"):
        remote.write(name, b"h\n1\n")
    remote.write("sub/z.csv", b"h\n2\n")
    inlet = inlet_for(remote, pattern="*.csv", format="csv")
    records = inlet.pull(None)
    assert [(r.metadata[FtpInlet.FILE], r.payload) for r in records] == [("x.csv", {"h": "1"})]
    hidden = inlet_for(remote, pattern=".*.csv", format="csv")
    assert [r.metadata[FtpInlet.FILE] for r in hidden.pull(None)] == [".hidden.csv"]
    inlet.on_shutdown()
    hidden.on_shutdown()


def test_formats(remote):
    remote.write("rows.csv", "\ufeffname,n\r\nä,1\r\n\r\nb,\"2\n3\"\r\n".encode())
    remote.write("lines.jsonl", b'{"a": 1}\n\n[2]\n')
    remote.write("doc.json", b'[{"a": 1}, 2]')
    remote.write("one.json", b'{"a": 1}')
    assert pull(inlet_for(remote, pattern="*.csv", format="csv")) == [{"name": "ä", "n": "1"},
                                                                       {"name": "b", "n": "2\n3"}]
    assert pull(inlet_for(remote, pattern="*.jsonl", format="jsonl")) == [{"a": 1}, [2]]
    assert sorted(map(json.dumps, pull(inlet_for(remote, pattern="*.json", format="json")))) == [
        "2", '{"a": 1}', '{"a": 1}']


def test_max_files_and_max_bytes_bound_a_pull(remote):
    for n in range(5):
        remote.write(f"{n}.bin", b"x" * 10)
    inlet = inlet_for(remote, max_files=2, max_bytes=25)
    sizes = [len(pull(inlet)) for _ in range(4)]
    assert sizes == [2, 2, 1, 0]
    inlet = inlet_for(remote, max_files=100, max_bytes=25)
    assert [len(pull(inlet)) for _ in range(4)] == [2, 2, 1, 0]


def test_a_file_larger_than_max_bytes_is_an_error_after_the_files_before_it(remote):
    remote.write("a.bin", b"small")
    inlet = inlet_for(remote, max_bytes=10)
    assert pull(inlet) == [b"small"]
    remote.write("b.bin", b"x" * 11)
    with pytest.raises(FtpFormatError, match=r"FtpInlet cannot read .*/b\.bin: it holds 11 bytes, more than "
                                             r"max_bytes=10; raise max_bytes to read it"):
        inlet.pull(None)
    with pytest.raises(FtpFormatError):
        inlet.pull(None)  # again: it is not skipped
    inlet.on_shutdown()


def test_bad_content_is_reported_and_not_skipped(local_only):
    remote = local_only
    remote.write("1-good.jsonl", b'{"n": 1}\n')
    remote.write("2-bad.jsonl", b'{"n": 2}\nnot json\n')
    remote.write("3-good.jsonl", b'{"n": 3}\n')
    base = time.time() - 100
    for offset, name in enumerate(["1-good.jsonl", "2-bad.jsonl", "3-good.jsonl"]):
        os.utime(remote.local / name, (base + offset, base + offset))
    inlet = inlet_for(remote, format="jsonl")
    assert pull(inlet) == [{"n": 1}]  # the file before the bad one
    for _ in range(2):
        with pytest.raises(FtpFormatError, match=r"FtpInlet cannot read .*/2-bad\.jsonl: line 2 is not JSON"):
            inlet.pull(None)
    remote.write("2-bad.jsonl", b'{"n": 2}\n')  # fixed, so now the newest file
    assert pull(inlet) == [{"n": 3}, {"n": 2}]
    inlet.on_shutdown()


def test_position_round_trip_and_files_that_disappear_leave_it(remote):
    remote.write("a.bin", b"A")
    remote.write("b.bin", b"B")
    inlet = inlet_for(remote)
    pull(inlet)
    saved = json.loads(json.dumps(inlet.get_state()))
    assert sorted(saved["files"]) == ["a.bin", "b.bin"] and saved["files"]["a.bin"][0] == 1
    remote.write("c.bin", b"C")
    again = inlet_for(remote, position=saved)
    assert pull(again) == [b"C"]
    remote.remove("a.bin")
    pull(again)
    assert sorted(again.position["files"]) == ["b.bin", "c.bin"]
    again.set_state(None)
    assert sorted(pull(again)) == [b"B", b"C"]
    inlet.on_shutdown()
    again.on_shutdown()


@pytest.mark.parametrize("position", [{"offset": 1}, {"files": {"a": [1]}}, {"files": {"a": ["1", 2]}}, [1]])
def test_invalid_positions_are_refused(position):
    with pytest.raises(ValueError, match="FtpInlet: .*position"):
        FtpInlet("ftp://h/", position=position)


def test_repr_shows_no_password(remote):
    inlet = inlet_for(remote, pattern="*.csv", metadata={"k": 1})
    assert repr(inlet) == f"FtpInlet({remote.url}, pattern='*.csv', metadata={{'k': 1}})"
    assert remote.password not in repr(inlet)


def test_a_file_that_changed_since_it_was_listed_is_not_read(remote):
    """Downloads stop one byte past the listed size; the session stays usable."""
    from databay_ftp.endpoint import Endpoint
    from databay_ftp.remote import open_session

    remote.write("f.bin", bytes(range(100)) * 10_000)
    endpoint = Endpoint.from_arguments("FtpInlet", remote.url, remote.password, 10,
                                       cacert=remote.options.get("cacert"),
                                       known_hosts=remote.options.get("known_hosts"))
    session = open_session(endpoint, "FtpInlet")
    try:
        assert session.download("f.bin", 500) is None  # grew
        assert session.download("f.bin", 2_000_000) is None  # shrank
        assert session.download("f.bin", 1_000_000) == bytes(range(100)) * 10_000
        session.ping()
    finally:
        session.close()
