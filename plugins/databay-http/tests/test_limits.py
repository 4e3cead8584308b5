"""Response bodies are read up to max_body_size (64 MiB by default), never further."""

from __future__ import annotations

import inspect
import json

import pytest
from databay_http import HttpBodyTooLargeError, HttpInlet, HttpOutlet

MiB = 1024 * 1024


def test_the_default_limit_is_64_mib():
    assert inspect.signature(HttpInlet).parameters["max_body_size"].default == 64 * MiB


def test_a_body_announced_larger_than_the_limit_is_refused_unread(server, pull):
    url = server.route("/big", b"[" + b"0," * (MiB // 2) + b"0]")  # ~1 MiB, with a Content-Length
    with pytest.raises(HttpBodyTooLargeError) as caught:
        pull(HttpInlet(url, max_body_size=MiB // 2))
    assert str(caught.value) == (f"HttpInlet: GET {url} returned a body larger than max_body_size=524288 "
                                 f"(512 KiB): its Content-Length is 1,048,579 bytes; raise max_body_size to accept it")
    assert caught.value.limit == MiB // 2 and caught.value.url == url


def test_a_streamed_body_stops_being_read_at_the_limit(server, pull):
    url = server.route("/stream", b"0," * 32 * 1024, repeat=10_000)  # 640 MiB, chunked, no Content-Length
    with pytest.raises(HttpBodyTooLargeError, match=r"larger than max_body_size=1048576 \(1 MiB\): more than "
                                                    r"1 MiB arrived; raise max_body_size"):
        pull(HttpInlet(url, max_body_size=MiB))


def test_the_limit_counts_decompressed_bytes(server, pull):
    url = server.route("/bomb", b"[" + b"0," * (8 * MiB) + b"0]", gzip=True)  # 16 MiB in ~16 KiB of gzip
    with pytest.raises(HttpBodyTooLargeError, match="more than 1 MiB arrived"):
        pull(HttpInlet(url, max_body_size=MiB))


def test_a_body_of_exactly_the_limit_is_read(server, pull):
    body = json.dumps(list(range(1000))).encode()
    assert pull(HttpInlet(server.route("/exact", body), max_body_size=len(body))) == list(range(1000))
    streamed = server.route("/streamed", b"x" * 1000, repeat=5, content_type="text/plain")
    assert pull(HttpInlet(streamed, json=False, max_body_size=5000)) == ["x" * 5000]


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "64"])
def test_the_limit_must_be_a_positive_number_of_bytes(size):
    with pytest.raises(ValueError, match="HttpInlet: max_body_size must be a positive number of bytes"):
        HttpInlet("http://127.0.0.1/", max_body_size=size)


def test_the_outlet_reads_a_large_answer_and_drops_it(server, push_records):
    url = server.route("/ingest", b"x" * 1024, repeat=20_000, content_type="text/plain")  # 20 MiB answer
    stats = push_records(HttpOutlet(url), [{"id": 1}])
    assert stats.records_pushed == 1 and server.seen[0].json() == [{"id": 1}]
