"""HttpInlet: databay 0.3's behaviour, and the request options it adds."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from databay import Link, Update
from databay_http import HttpDecodeError, HttpInlet

UPDATE = Update(["test"], 0)


def test_json_list_gives_one_record_per_element(server, pull):
    todos = [{"id": 1, "done": False}, {"id": 2, "done": True}, 3, "four", None]
    assert pull(HttpInlet(server.route("/todos", todos))) == todos


def test_json_object_gives_one_record(server, pull):
    todo = {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False}
    assert pull(HttpInlet(server.route("/todos/1", todo))) == [todo]


@pytest.mark.parametrize("value", [42, "text", True, None, 1.5])
def test_other_json_values_give_one_record(server, value, pull):
    assert pull(HttpInlet(server.route("/value", json.dumps(value)))) == [value]


@pytest.mark.parametrize("as_json", [True, False])
def test_empty_body_gives_no_record(server, as_json, pull):
    assert pull(HttpInlet(server.route("/empty", b""), json=as_json)) == []


def test_empty_json_list_gives_no_record(server, pull):
    assert pull(HttpInlet(server.route("/none", []))) == []


def test_invalid_json_is_a_value_error_showing_the_start_of_the_body(server, pull):
    url = server.route("/broken", "<html><body>Maintenance until 10:00</body></html>", content_type="text/html")
    with pytest.raises(ValueError) as caught:
        pull(HttpInlet(url))
    assert isinstance(caught.value, HttpDecodeError)
    message = str(caught.value)
    assert message.startswith(f"HttpInlet: GET {url} returned a body that is not valid JSON")
    assert "Content-Type: text/html" in message
    assert "the body starts: '<html><body>Maintenance until 10:00</body></html>'" in message
    assert caught.value.body.startswith(b"<html>")


def test_long_invalid_body_is_shortened_in_the_message(server, pull):
    url = server.route("/long", "x" * 10_000, content_type="text/plain")
    with pytest.raises(HttpDecodeError) as caught:
        pull(HttpInlet(url))
    assert "'" + "x" * 200 + "...'" in str(caught.value)
    assert len(str(caught.value)) < 500
    assert len(caught.value.body) == 1000


def test_json_false_gives_the_text_in_its_charset(server, pull):
    url = server.route("/text", "café ☕".encode("utf-16"), content_type="text/plain; charset=utf-16")
    assert pull(HttpInlet(url, json=False)) == ["café ☕"]


def test_json_false_keeps_json_as_text(server, pull):
    assert pull(HttpInlet(server.route("/list", [1, 2]), json=False)) == ["[1, 2]"]


def test_text_that_is_not_in_its_charset_is_a_decode_error(server, pull):
    url = server.route("/latin", "café".encode("latin-1"), content_type="text/plain; charset=utf-8")
    with pytest.raises(HttpDecodeError, match=r"not valid text .*'utf-8' codec"):
        pull(HttpInlet(url, json=False))


def test_params_and_headers_are_sent(server, pull):
    inlet = HttpInlet(server.url("/echo?fixed=1"), params={"page": 2, "q": "a b"},
                      headers={"Authorization": "Bearer t0ken", "X-Trace": "abc"})
    [echo] = pull(inlet)
    assert echo["method"] == "GET"
    assert echo["query"] == {"fixed": "1", "page": "2", "q": "a b"}
    assert echo["headers"]["Authorization"] == "Bearer t0ken"
    assert echo["headers"]["X-Trace"] == "abc"
    assert inlet.url == server.url("/echo?fixed=1")  # as given; params apart, as in databay 0.3
    assert inlet.params == {"page": 2, "q": "a b"}


def test_headers_as_a_list_of_pairs(server, pull):
    [echo] = pull(HttpInlet(server.url("/echo"), headers=[("X-One", "1"), ("X-Two", "2")]))
    assert (echo["headers"]["X-One"], echo["headers"]["X-Two"]) == ("1", "2")


def test_method_and_body(server, pull):
    [echo] = pull(HttpInlet(server.url("/echo"), method="put", body="raw text"))
    assert (echo["method"], echo["body"]) == ("PUT", "raw text")


def test_json_body_is_sent_as_json(server, pull):
    inlet = HttpInlet(server.url("/echo"), method="POST", json_body={"query": "todos", "limit": 5})
    [echo] = pull(inlet)
    assert echo["method"] == "POST"
    assert echo["headers"]["Content-Type"] == "application/json"
    assert echo["body"] == '{"query": "todos", "limit": 5}'


def test_json_body_respects_a_content_type_given_in_headers(server, pull):
    inlet = HttpInlet(server.url("/echo"), method="POST", json_body=[1],
                      headers={"content-type": "application/vnd.api+json"})
    [echo] = pull(inlet)
    assert echo["headers"]["Content-Type"] == "application/vnd.api+json"


def test_metadata_goes_to_every_record(server, pull_records):
    inlet = HttpInlet(server.route("/todos", [1, 2]), metadata={"HttpInlet.SOURCE": "todos"})
    seen = pull_records(inlet)
    assert [r.metadata["HttpInlet.SOURCE"] for r in seen] == ["todos", "todos"]
    assert all(r.metadata["__inlet__"] == repr(inlet) for r in seen)


def test_logs_pulling_and_received_like_the_manual(server, caplog):
    url = server.route("/todos/1", {"id": 1})
    inlet = HttpInlet(url)
    link = Link(inlet, [], interval=1, tags="http_to_mongo")
    with caplog.at_level(logging.INFO, logger="databay.HttpInlet"):
        link.transfer()
        link.transfer()
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "databay.HttpInlet"]
    assert messages == [
        ("databay.HttpInlet", "INFO", f"http_to_mongo.0 pulling {url}"),
        ("databay.HttpInlet", "INFO", f"http_to_mongo.0 received {url}"),
        ("databay.HttpInlet", "INFO", f"http_to_mongo.1 pulling {url}"),
        ("databay.HttpInlet", "INFO", f"http_to_mongo.1 received {url}"),
    ]


def test_credentials_in_the_url_are_sent_but_never_shown(server, pull):
    url = f"http://user:s3cret@127.0.0.1:{server.port}/missing"
    inlet = HttpInlet(url)
    assert inlet.url == f"http://127.0.0.1:{server.port}/missing"
    with pytest.raises(Exception) as caught:
        pull(inlet)
    assert "s3cret" not in str(caught.value)
    assert server.seen[0].headers["Authorization"].startswith("Basic ")


def test_pull_directly_on_an_event_loop(server):
    """``await inlet.pull(update)`` works from any running loop, without on_start."""
    inlet = HttpInlet(server.route("/todos", [1, 2, 3]))

    async def main():
        try:
            return await inlet.pull(UPDATE)
        finally:
            await inlet.on_shutdown()

    assert asyncio.run(main()) == [1, 2, 3]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"url": "ftp://example.org/x"}, ValueError, "absolute http:// or https:// URL"),
        ({"url": "/relative/path"}, ValueError, "absolute http:// or https:// URL"),
        ({"url": "http://127.0.0.1/", "method": "GET /"}, ValueError, "method must be an HTTP method"),
        ({"url": "http://127.0.0.1/", "timeout": 0}, ValueError, "timeout must be a positive number"),
        ({"url": "http://127.0.0.1/", "connect_timeout": None}, ValueError, "connect_timeout must be"),
        ({"url": "http://127.0.0.1/", "body": "a", "json_body": {}}, ValueError, "body or json_body"),
        ({"url": "http://127.0.0.1/", "body": {"a": 1}}, TypeError, "use json_body="),
        ({"url": "http://127.0.0.1/", "json_body": {1, 2}}, TypeError, "json_body cannot be sent as JSON"),
        ({"url": "http://127.0.0.1/", "cacert": "/no/such/ca.pem"}, ValueError, "cannot load trusted"),
        ({"url": "http://127.0.0.1/", "cacert": "ca.pem", "verify": False}, ValueError, "contradict"),
        ({"url": "http://127.0.0.1/", "session_options": {"connector": None}}, ValueError, "cannot set 'connector'"),
    ],
)
def test_bad_arguments_fail_at_construction(arguments, error, message):
    with pytest.raises(error, match=message) as caught:
        HttpInlet(**arguments)
    assert str(caught.value).startswith("HttpInlet: ")


def test_session_options_reach_the_session(server, pull):
    inlet = HttpInlet(server.url("/echo"), session_options={"skip_auto_headers": ["User-Agent"]})
    [echo] = pull(inlet)
    assert "User-Agent" not in echo["headers"]


@pytest.mark.parametrize("option", ["headers", "auth", "cookies"])
def test_session_options_cannot_carry_credentials_past_redirects(option):
    with pytest.raises(ValueError, match=f"session_options cannot set '{option}': aiohttp would send them to any "
                                         f"host a redirect leads to"):
        HttpInlet("http://127.0.0.1/", session_options={option: {"session": "abc"}})
