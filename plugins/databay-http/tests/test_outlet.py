"""HttpOutlet: records sent as JSON, one request per push or per record."""

from __future__ import annotations

import logging

import pytest
from databay import Link, Record
from databay_http import HttpInlet, HttpOutlet, HttpStatusError


def test_one_request_per_push_with_a_json_array(server, push_records):
    payloads = [{"id": 1, "name": "ä"}, [1, 2], "three", 4.5, None, True]
    push_records(HttpOutlet(server.url("/echo")), payloads)
    [request] = server.seen
    assert (request.method, request.path) == ("POST", "/echo")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == payloads


def test_one_request_per_record(server, push_records):
    payloads = [{"id": 1}, {"id": 2}, [3]]
    push_records(HttpOutlet(server.url("/echo"), per_record=True), payloads)
    assert [request.json() for request in server.seen] == payloads
    assert len(server.peers()) == 1  # one connection for all of them


def test_method_headers_and_params(server, push_records):
    outlet = HttpOutlet(server.url("/echo"), method="put", params={"source": "databay"},
                        headers={"Authorization": "Bearer t0ken", "Content-Type": "application/x-ndjson"})
    push_records(outlet, [{"id": 1}])
    [request] = server.seen
    assert (request.method, request.query) == ("PUT", {"source": "databay"})
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Content-Type"] == "application/x-ndjson"


def test_url_metadata_sends_records_elsewhere(server, push_records):
    records = [Record({"n": 1}), Record({"n": 2}, {HttpOutlet.URL: server.url("/other")}), Record({"n": 3}),
               Record({"n": 4}, {HttpOutlet.URL: server.url("/other")})]
    server.route("/other", b"")
    push_records(HttpOutlet(server.url("/echo")), records)
    assert [(r.path, r.json()) for r in server.seen] == [
        ("/echo", [{"n": 1}, {"n": 3}]),
        ("/other", [{"n": 2}, {"n": 4}]),
    ]


def test_url_metadata_per_record(server, push_records):
    records = [Record(1), Record(2, {HttpOutlet.URL: server.url("/other")}), Record(3)]
    server.route("/other", b"")
    push_records(HttpOutlet(server.url("/echo"), per_record=True), records)
    assert [(r.path, r.json()) for r in server.seen] == [("/echo", 1), ("/other", 2), ("/echo", 3)]


def test_url_metadata_that_is_not_a_string(server, push_records):
    with pytest.raises(ValueError, match=r"^HttpOutlet: record 0 .*: metadata\['HttpOutlet.URL'\] must be a str URL"):
        push_records(HttpOutlet(server.url("/echo")), [Record(1, {HttpOutlet.URL: ["http://a"]})])


def test_url_metadata_key_is_namespaced():
    assert HttpOutlet.URL == "HttpOutlet.URL"


@pytest.mark.parametrize("per_record", [False, True])
def test_payload_json_cannot_represent_names_the_record_and_nothing_is_sent(server, push_records,
                                                                             per_record):
    payloads = [{"id": 1}, {"id": 2, "when": object()}, {"id": 3}]
    with pytest.raises(TypeError) as caught:
        push_records(HttpOutlet(server.url("/echo"), per_record=per_record), payloads)
    message = str(caught.value)
    assert message.startswith("HttpOutlet cannot send record 1 of this push (from ListInlet()) as JSON: ")
    assert "Object of type object is not JSON serializable" in message
    assert server.seen == []


def test_nan_is_not_sent(server, push_records):
    with pytest.raises(ValueError, match=r"record 0 of this push .* Out of range float values"):
        push_records(HttpOutlet(server.url("/echo")), [float("nan")])
    assert server.seen == []


def test_invalid_url_metadata_names_the_record(server, push_records):
    records = [Record(1), Record(2, {HttpOutlet.URL: "not a url"})]
    with pytest.raises(ValueError, match=r"^HttpOutlet: record 1 of this push \(no inlet\): metadata\['HttpOutlet.URL'\]: "
                                         r"url must be an absolute http:// or https:// URL, got 'not a url'$"):
        push_records(HttpOutlet(server.url("/echo")), records)
    assert server.seen == []


def test_a_failed_request_says_what_was_sent_before(server, push_records):
    url = server.route("/full", "disk full", status=507, content_type="text/plain")
    records = [Record(1), Record(2), Record(3, {HttpOutlet.URL: url}), Record(4)]
    with pytest.raises(HttpStatusError) as caught:
        push_records(HttpOutlet(server.url("/echo"), per_record=True), records)
    assert str(caught.value) == (f"HttpOutlet: POST {url} returned 507 Insufficient Storage: disk full "
                                 f"(2 of the push's 4 records were sent before)")
    assert [r.json() for r in server.seen] == [1, 2, 3]


def test_error_of_the_first_request_says_nothing_was_sent(server, push_records):
    url = server.route("/fails", "", status=500)
    with pytest.raises(HttpStatusError) as caught:
        push_records(HttpOutlet(url), [1, 2])
    assert str(caught.value) == f"HttpOutlet: POST {url} returned 500 Internal Server Error"


def test_a_link_ignoring_exceptions_carries_on(server, records_inlet, refused_url, caplog):
    good = HttpOutlet(server.url("/echo"))
    bad = HttpOutlet(refused_url)
    link = Link(records_inlet([{"id": 1}]), [bad, good], interval=1, ignore_exceptions=True)
    link.on_start()
    try:
        with caplog.at_level(logging.ERROR, logger="databay.Link"):
            link.transfer()
            link.transfer()
    finally:
        link.on_shutdown()
    assert [r.json() for r in server.seen] == [[{"id": 1}], [{"id": 1}]]
    errors = [r.getMessage() for r in caplog.records if r.name == "databay.Link"]
    assert len(errors) == 2 and all(f"HttpOutlet: POST {refused_url} failed: cannot connect" in e for e in errors)


def test_logs_sending_and_sent(server, push_records, caplog):
    url = server.url("/echo")
    with caplog.at_level(logging.INFO, logger="databay.HttpOutlet"):
        push_records(HttpOutlet(url), [1, 2])
    assert [r.getMessage() for r in caplog.records if r.name == "databay.HttpOutlet"] == [
        f"push_records.0 sending 2 record(s) to {url}", f"push_records.0 sent 2 record(s) to {url}"]


def test_http_to_http(server):
    """An HttpInlet feeding an HttpOutlet: what one server answers, the other receives."""
    source = server.route("/todos", [{"id": 1, "done": True}, {"id": 2, "done": False}])
    link = Link(HttpInlet(source), HttpOutlet(server.url("/echo")), interval=1)
    link.transfer()
    assert server.seen[-1].json() == [{"id": 1, "done": True}, {"id": 2, "done": False}]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"url": "mailto:someone@example.org"}, "absolute http:// or https:// URL"),
        ({"url": "http://127.0.0.1/", "method": ""}, "method must be an HTTP method"),
        ({"url": "http://127.0.0.1/", "timeout": -1}, "timeout must be a positive number"),
    ],
)
def test_bad_arguments_fail_at_construction(arguments, message):
    with pytest.raises(ValueError, match=f"^HttpOutlet: .*{message}"):
        HttpOutlet(**arguments)
