"""S3Inlet against the test server: new objects in key order, once each, bounded pulls, bad content."""

from __future__ import annotations

import json
import logging

import pytest
from databay import Record, Update
from databay_s3 import S3FormatError, S3Inlet, S3ObjectTooLarge, S3OperationError, S3Outlet

UPDATE = Update(["in"], 1)


def payloads(records) -> list:
    return [record.payload for record in records]


def put_lines(bucket, key: str, *values) -> None:
    bucket.put(key, b"".join(json.dumps(value).encode() + b"\n" for value in values))


def test_each_object_is_read_once_in_key_order(endpoint, bucket):
    inlet = S3Inlet(bucket.name, "data/", endpoint_url=endpoint)
    assert inlet.pull(UPDATE) == [] and inlet.position is None
    put_lines(bucket, "data/002", {"n": 3})
    put_lines(bucket, "data/001", {"n": 1}, {"n": 2})
    put_lines(bucket, "other/000", {"n": 0})
    records = inlet.pull(UPDATE)
    assert payloads(records) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [r.metadata[S3Inlet.OBJECT_KEY] for r in records] == ["data/001", "data/001", "data/002"]
    assert inlet.position == "data/002" and inlet.get_state() == {"after": "data/002"}
    assert inlet.pull(UPDATE) == []
    put_lines(bucket, "data/003", {"n": 4})
    assert payloads(inlet.pull(UPDATE)) == [{"n": 4}]


def test_an_object_added_before_the_position_is_not_read(endpoint, bucket):
    """The documented limit: keys must grow."""
    put_lines(bucket, "b", 1)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint)
    assert payloads(inlet.pull(UPDATE)) == [1]
    put_lines(bucket, "a", 2)
    assert inlet.pull(UPDATE) == []


def test_what_s3outlet_writes_arrives_once(endpoint, bucket):
    outlet = S3Outlet(bucket.name, endpoint_url=endpoint)
    inlet = S3Inlet(bucket.name, "sensors/", endpoint_url=endpoint)
    pulled = []
    for n in range(10):
        outlet.push([Record({"n": n})], Update(["sensors"], n))
        if n % 3 == 0:
            pulled += payloads(inlet.pull(UPDATE))
    pulled += payloads(inlet.pull(UPDATE))
    assert pulled == [{"n": n} for n in range(10)]


def test_formats(endpoint, bucket):
    bucket.put("csv/1.csv", "\ufeffa,b\r\n1,é\r\n2,\r\n".encode())
    bucket.put("json/1.json", b'[{"a": 1}, 2, "three"]')
    bucket.put("json/2.json", b'{"single": true}')
    bucket.put("jsonl/1.jsonl", b'{"a": 1}\r\n\n  \n[1, 2]\n"last line without a line end"')
    assert payloads(S3Inlet(bucket.name, "csv/", "csv", endpoint_url=endpoint).pull(UPDATE)) == [
        {"a": "1", "b": "é"}, {"a": "2", "b": ""}]
    assert payloads(S3Inlet(bucket.name, "json/", "json", endpoint_url=endpoint).pull(UPDATE)) == [
        {"a": 1}, 2, "three", {"single": True}]
    assert payloads(S3Inlet(bucket.name, "jsonl/", endpoint_url=endpoint).pull(UPDATE)) == [
        {"a": 1}, [1, 2], "last line without a line end"]


def test_a_pull_reads_at_most_max_objects(endpoint, bucket):
    for n in range(7):
        put_lines(bucket, f"k{n}", n)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint, max_objects=3)
    assert [payloads(inlet.pull(UPDATE)) for _ in range(4)] == [[0, 1, 2], [3, 4, 5], [6], []]


def test_a_pull_reads_at_most_max_bytes(endpoint, bucket):
    for n in range(5):
        bucket.put(f"k{n}", b"%d\n" % n + b" " * 97)  # 100 bytes each
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint, max_bytes=250)
    assert [payloads(inlet.pull(UPDATE)) for _ in range(4)] == [[0, 1], [2, 3], [4], []]


def test_an_object_larger_than_max_bytes_is_reported_and_stays_next(endpoint, bucket):
    put_lines(bucket, "a", 1)
    bucket.put("b", b"2" * 200 + b"\n")
    put_lines(bucket, "c", 3)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint, max_bytes=100)
    assert payloads(inlet.pull(UPDATE)) == [1]
    for _ in range(2):
        with pytest.raises(S3ObjectTooLarge) as caught:
            inlet.pull(UPDATE)
        assert str(caught.value) == (
            f"S3Inlet cannot read s3://{bucket.name}/b (endpoint {endpoint}): it holds 201 bytes, more than "
            f"max_bytes=100 a pull may read; raise max_bytes, or move the object away")
        assert inlet.position == "a"
    inlet.max_bytes = 1000
    assert payloads(inlet.pull(UPDATE)) == [int("2" * 200), 3]


def test_bad_content_is_reported_after_the_objects_before_it(endpoint, bucket):
    put_lines(bucket, "a", 1)
    bucket.put("b", b'{"ok": 1}\n{not json\n')
    put_lines(bucket, "c", 3)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint)
    assert payloads(inlet.pull(UPDATE)) == [1]
    assert inlet.position == "a"
    with pytest.raises(S3FormatError) as caught:
        inlet.pull(UPDATE)
    assert str(caught.value).startswith(f"S3Inlet (endpoint {endpoint}): line 2 of s3://{bucket.name}/b is not "
                                        f"valid JSON: Expecting property name")
    assert str(caught.value).endswith("(format 'jsonl'); the objects after it are not read until it is fixed "
                                      "or removed")
    assert inlet.position == "a"
    put_lines(bucket, "b", 2)  # fixed
    assert payloads(inlet.pull(UPDATE)) == [2, 3]


@pytest.mark.parametrize("fmt, data, message", [
    ("json", b"[1, 2", "is not a valid JSON document"),
    ("csv", b"\xff\xfe,a\r\n", "is not UTF-8 text"),
    ("csv", b'a\r\n"' + b"x" * 200_000 + b'"\r\n', "is not valid CSV: field larger than field limit"),
])
def test_bad_content_in_every_format(endpoint, bucket, fmt, data, message):
    bucket.put("bad", data)
    with pytest.raises(S3FormatError, match=f"s3://{bucket.name}/bad {message}"):
        S3Inlet(bucket.name, format=fmt, endpoint_url=endpoint).pull(UPDATE)


def test_an_object_deleted_after_it_was_listed_is_skipped(endpoint, bucket, caplog):
    put_lines(bucket, "a", 1)
    put_lines(bucket, "b", 2)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint)
    real_read = inlet._read

    def delete_first(key):
        if key == "a":
            bucket.s3.delete_object(Bucket=bucket.name, Key="a")
        return real_read(key)

    inlet._read = delete_first
    with caplog.at_level(logging.WARNING, "databay.S3Inlet"):
        assert payloads(inlet.pull(UPDATE)) == [2]
    assert f"S3Inlet: s3://{bucket.name}/a was deleted before it could be read; skipped" in caplog.messages


def test_start_after_and_the_state(endpoint, bucket):
    for key in ("a", "b", "c"):
        put_lines(bucket, key, key)
    inlet = S3Inlet(bucket.name, endpoint_url=endpoint, start_after="a")
    assert payloads(inlet.pull(UPDATE)) == ["b", "c"]
    inlet.set_state({"after": "b"})
    assert payloads(inlet.pull(UPDATE)) == ["c"]
    inlet.set_state(None)
    assert payloads(inlet.pull(UPDATE)) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="S3Inlet: a saved position is"):
        inlet.set_state({"after": 5})


@pytest.mark.parametrize("arguments, message", [
    ({"bucket": None}, "S3Inlet: bucket must be a non-empty string, got None"),
    ({"prefix": None}, "S3Inlet: prefix must be a string, got None"),
    ({"format": "parquet"}, "S3Inlet: format must be one of ['jsonl', 'csv', 'json'], got 'parquet'"),
    ({"max_objects": 0}, "S3Inlet: max_objects must be a positive integer, got 0"),
    ({"max_bytes": 1.5}, "S3Inlet: max_bytes must be a positive integer, got 1.5"),
    ({"start_after": ""}, "S3Inlet: start_after must be a non-empty string"),
    ({"read_timeout": 0}, "S3Inlet: read_timeout must be a positive number, got 0"),
])
def test_bad_arguments_are_refused_when_the_inlet_is_made(arguments, message):
    with pytest.raises(ValueError) as caught:
        S3Inlet(**{"bucket": "bucket", **arguments})
    assert message in str(caught.value)


def test_a_request_failing_midway_leaves_the_position_where_it_was(proxy, bucket):
    for key in ("a", "b", "c"):
        put_lines(bucket, key, key)
    proxy.refuse(503, "ServiceUnavailable", "Please try again", method="GET", times=1, path_contains="/b")
    inlet = S3Inlet(bucket.name, endpoint_url=proxy.url, client_options={"retries": {"total_max_attempts": 1}})
    with pytest.raises(S3OperationError, match=r"S3Inlet cannot read s3://[^/]+/b .*\[ServiceUnavailable, HTTP 503\]"):
        inlet.pull(UPDATE)
    assert inlet.position is None  # "a" was read, but its records were never produced
    assert payloads(inlet.pull(UPDATE)) == ["a", "b", "c"]
