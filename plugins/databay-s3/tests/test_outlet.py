"""S3Outlet against the test server: keys, formats, grouping, multipart uploads, bad input."""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import re
import uuid

import pytest
from databay import Inlet, Link, Record, Update
from databay_s3 import S3FormatError, S3Outlet
from databay_s3.keys import KeyTemplate, UtcClock

UPDATE = Update(["sensors", "north"], 7)


class Numbers(Inlet):
    def pull(self, update):
        return [{"n": n} for n in range(3)]


def records(*payloads, **metadata) -> list[Record]:
    return [Record(payload, dict(metadata)) for payload in payloads]


def test_default_key_names_the_link_the_time_and_a_uuid(endpoint, bucket):
    outlet = S3Outlet(bucket.name, endpoint_url=endpoint)
    before = datetime.datetime.now(datetime.UTC)
    outlet.push(records({"a": 1}, {"a": 2}), UPDATE)
    [key] = bucket.keys()
    match = re.fullmatch(r"sensors\.north/(\d{4}/\d\d/\d\d/\d{6}\.\d{6})-([0-9a-f]{32})\.jsonl", key)
    assert match, key
    written = datetime.datetime.strptime(match[1], "%Y/%m/%d/%H%M%S.%f").replace(tzinfo=datetime.UTC)
    assert before - datetime.timedelta(seconds=1) <= written <= datetime.datetime.now(datetime.UTC)
    assert bucket.read(key) == b'{"a":1}\n{"a":2}\n'
    head = bucket.s3.head_object(Bucket=bucket.name, Key=key)
    assert head["ContentType"] == "application/x-ndjson"


def test_every_template_field(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "{tags}|{update}|{uuid}|{time}|{time:%Y}|{ext}|{{literal}}", "json",
                      endpoint_url=endpoint)
    outlet.push(records(1), UPDATE)
    [key] = bucket.keys()
    tags, update, made_uuid, time, year, ext, literal = key.split("|")
    assert (tags, update, ext, literal) == ("sensors.north", "sensors.north.7", "json", "{literal}")
    assert uuid.UUID(made_uuid).version == 4
    assert re.fullmatch(r"\d{8}T\d{6}Z", time) and time.startswith(year)
    assert bucket.read(key) == b"[1]"


def test_a_link_without_tags_is_untagged(endpoint, bucket):
    S3Outlet(bucket.name, "{tags}/{update}.{ext}", endpoint_url=endpoint).push(records(1), Update([], 3))
    assert bucket.keys() == ["untagged/3.jsonl"]


def test_one_object_per_push_and_keys_sort_in_the_order_written(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "{time:%Y%m%d%H%M}/{time:%S.%f}-{uuid}.{ext}", endpoint_url=endpoint)
    for n in range(20):  # faster than the clock's resolution on some machines: times never repeat
        outlet.push(records({"n": n}), UPDATE)
    assert [json.loads(bucket.read(key)) for key in bucket.keys()] == [{"n": n} for n in range(20)]


def test_the_clock_never_goes_backwards():
    clock = UtcClock()
    times = [clock.now() for _ in range(1000)]
    assert all(a < b for a, b in zip(times, times[1:]))


def test_records_are_grouped_by_their_key_metadata(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "all/{uuid}.{ext}", endpoint_url=endpoint)
    pushed = [Record({"n": 1}), Record({"n": 2}, {S3Outlet.S3_KEY: "odd/{update}.{ext}"}),
              Record({"n": 3}, {S3Outlet.S3_KEY: "even/{update}.{ext}"}),
              Record({"n": 4}, {S3Outlet.S3_KEY: "odd/{update}.{ext}"})]
    outlet.push(pushed, UPDATE)
    all_keys = bucket.keys()
    assert [k for k in all_keys if not k.startswith("all/")] == ["even/sensors.north.7.jsonl",
                                                                 "odd/sensors.north.7.jsonl"]
    assert bucket.read("odd/sensors.north.7.jsonl") == b'{"n":2}\n{"n":4}\n'
    assert bucket.read("even/sensors.north.7.jsonl") == b'{"n":3}\n'
    [default] = [k for k in all_keys if k.startswith("all/")]
    assert bucket.read(default) == b'{"n":1}\n'


def test_csv_objects_have_a_header_and_every_column(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "t.{ext}", "csv", endpoint_url=endpoint)
    outlet.push(records({"a": 1, "b": "x,y"}, [{"b": None, "c": 2.5}, {"a": "é"}]), UPDATE)
    assert bucket.read("t.csv") == 'a,b,c\r\n1,"x,y",\r\n,,2.5\r\né,,\r\n'.encode()
    assert bucket.s3.head_object(Bucket=bucket.name, Key="t.csv")["ContentType"] == "text/csv; charset=utf-8"


def test_json_values_without_a_json_type_are_written_as_text(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "t.{ext}", endpoint_url=endpoint)
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    outlet.push(records({"at": moment, "day": moment.date(), "price": decimal.Decimal("9.99"),
                         "id": uuid.UUID(int=1), "tags": ("a", "b"), "text": "ünï"}), UPDATE)
    assert json.loads(bucket.read("t.jsonl")) == {
        "at": "2024-05-06T07:08:09+00:00", "day": "2024-05-06", "price": "9.99",
        "id": "00000000-0000-0000-0000-000000000001", "tags": ["a", "b"], "text": "ünï"}


@pytest.mark.parametrize("fmt, payload, reason", [
    ("jsonl", {"blob": b"bytes"}, "a value of type bytes cannot be written as JSON: b'bytes'"),
    ("json", {"x": object()}, "a value of type object cannot be written as JSON"),
    ("jsonl", {"bad": "\ud800"}, "surrogates not allowed"),
    ("csv", 5, "a CSV row must be a mapping (dict) of column names to values, or a list of them, got int 5"),
    ("csv", {1: "x"}, "column names must be strings, got int 1"),
])
def test_a_record_that_cannot_be_written_is_named_and_nothing_is_written(endpoint, bucket, fmt, payload, reason):
    outlet = S3Outlet(bucket.name, "t/{uuid}", fmt, endpoint_url=endpoint)
    pushed = [Record({"ok": 1}), Record({"ok": 2}, {S3Outlet.S3_KEY: "other/{uuid}"}),
              Record(payload, {"__inlet__": "Sensors()"})]
    with pytest.raises(S3FormatError) as caught:
        outlet.push(pushed, UPDATE)
    message = str(caught.value)
    assert message.startswith(f"S3Outlet cannot write record 2 of this push (from Sensors()) as {fmt} to "
                              f"s3://{bucket.name}/t/{{uuid}}: ")
    assert reason in message and message.endswith("Nothing of this push was written")
    assert bucket.keys() == []


def test_records_of_other_keys_are_encoded_before_anything_is_written(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "good/{uuid}", endpoint_url=endpoint)
    with pytest.raises(S3FormatError, match="record 1 of this push"):
        outlet.push([Record(1), Record(object(), {S3Outlet.S3_KEY: "bad/{uuid}"})], UPDATE)
    assert bucket.keys() == []


def test_records_are_left_unchanged(endpoint, bucket):
    payload = {"a": [1, {"b": 2}]}
    record = Record(payload, {S3Outlet.S3_KEY: "k.{ext}", "other": 1})
    S3Outlet(bucket.name, endpoint_url=endpoint).push([record], UPDATE)
    assert record.payload == {"a": [1, {"b": 2}]} and record.metadata == {S3Outlet.S3_KEY: "k.{ext}", "other": 1}


def test_large_objects_are_uploaded_in_parts(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "big.{ext}", endpoint_url=endpoint, multipart_threshold=5 * 2**20,
                      multipart_chunksize=5 * 2**20)
    line = {"text": "x" * 1000}
    outlet.push(records(*[line] * 12_000), UPDATE)  # ~12 MiB: three parts
    head = bucket.s3.head_object(Bucket=bucket.name, Key="big.jsonl")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # the ETag of a multipart upload
    assert head["ContentType"] == "application/x-ndjson"
    data = bucket.read("big.jsonl")
    assert data.count(b"\n") == 12_000 and json.loads(data.split(b"\n", 1)[0]) == line


def test_extra_args_go_with_every_object(endpoint, bucket):
    outlet = S3Outlet(bucket.name, "k", endpoint_url=endpoint,
                      extra_args={"Metadata": {"origin": "databay"}, "ContentType": "text/plain"})
    outlet.push(records(1), UPDATE)
    head = bucket.s3.head_object(Bucket=bucket.name, Key="k")
    assert head["Metadata"] == {"origin": "databay"} and head["ContentType"] == "text/plain"


def test_pushes_are_logged(endpoint, bucket, caplog):
    with caplog.at_level(logging.INFO, "databay.S3Outlet"):
        S3Outlet(bucket.name, "k.{ext}", endpoint_url=endpoint).push(records(1, 2), UPDATE)
    assert f"sensors.north.7 wrote 2 record(s) to s3://{bucket.name}/k.jsonl" in caplog.messages


def test_in_a_link(endpoint, bucket):
    link = Link(Numbers(), S3Outlet(bucket.name, endpoint_url=endpoint),
                interval=1, tags=["numbers"])
    link.transfer()
    [key] = bucket.keys()
    assert key.startswith("numbers/") and bucket.read(key) == b'{"n":0}\n{"n":1}\n{"n":2}\n'


@pytest.mark.parametrize("arguments, message", [
    ({"bucket": ""}, "S3Outlet: bucket must be a non-empty string, got ''"),
    ({"key": ""}, "S3Outlet: key must be a non-empty string (a key template), got ''"),
    ({"key": "{name}"}, "S3Outlet: key: unknown field {name} in key template '{name}'; the fields are {tags}, "
                        "{update}, {uuid}, {time}, {ext}"),
    ({"key": "{time.year}"}, "unknown field {time.year}"),
    ({"key": "{uuid!r}"}, "field {uuid} of key template '{uuid!r}' takes no conversion or format"),
    ({"key": "{uuid:>40}"}, "field {uuid} of key template '{uuid:>40}' takes no conversion or format"),
    ({"key": "{time:{ext}}"}, "takes no conversion or format but a strftime format"),
    ({"key": "{tags"}, "is not a valid template"),
    ({"key": "x" * 1025}, "cannot make a key: the key is longer than 1024 bytes"),
    ({"format": "xml"}, "S3Outlet: format must be one of ['jsonl', 'csv', 'json'], got 'xml'"),
    ({"endpoint_url": "127.0.0.1:9000"}, "endpoint_url must start with 'http://' or 'https://'"),
    ({"endpoint_url": "http://user:secret@host"}, "endpoint_url must not carry credentials"),
    ({"multipart_chunksize": 1024}, "multipart_chunksize must be at least 5 MiB"),
    ({"max_concurrency": 0}, "max_concurrency must be a positive integer, got 0"),
    ({"connect_timeout": -1}, "connect_timeout must be a positive number, got -1"),
    ({"extra_args": {"Bucket": "x"}}, "extra_args ['Bucket'] are not upload arguments"),
    ({"client_options": {"colour": "red"}}, "client_options: "),
])
def test_bad_arguments_are_refused_when_the_outlet_is_made(arguments, message):
    with pytest.raises(ValueError) as caught:
        S3Outlet(**{"bucket": "bucket", **arguments})
    assert message in str(caught.value)


def test_a_bad_key_in_metadata_names_the_record(endpoint, bucket):
    outlet = S3Outlet(bucket.name, endpoint_url=endpoint)
    with pytest.raises(ValueError, match=r"S3Outlet: metadata\['S3Outlet.S3_KEY'\] of record 1 of this push "
                                         r"\(from Sensors\(\)\): unknown field \{id\}"):
        outlet.push([Record(1), Record(2, {S3Outlet.S3_KEY: "{id}", "__inlet__": "Sensors()"})], UPDATE)
    with pytest.raises(ValueError, match=r"of record 0 of this push \(no inlet\) must be a non-empty string"):
        outlet.push([Record(1, {S3Outlet.S3_KEY: 5})], UPDATE)
    assert bucket.keys() == []


def test_the_time_format_is_strftime():
    template = KeyTemplate.parse("{time:%Y/%m/%d/%H%M%S}", "test")
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert template.render({"time": moment}) == "2024/01/02/030405"
    assert template.fields == {"time"}
