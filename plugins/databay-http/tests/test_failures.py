"""Bad input and unreachable servers: one clear error each, and a link that ignores
exceptions carries on."""

from __future__ import annotations

import asyncio
import logging
import pickle
import re
import socket
import threading
import time

import pytest
from databay import Link, Update
from databay_http import (
    HttpConnectionError,
    HttpDecodeError,
    HttpError,
    HttpInlet,
    HttpStatusError,
    HttpTimeoutError,
)


def failing_inlet(case: str, server, refused_url: str, unreachable_url: str) -> tuple[HttpInlet, str]:
    """An inlet that fails as ``case`` says, and the URL its error must name."""
    if case == "refused":
        return HttpInlet(refused_url), refused_url
    if case == "unreachable":
        return HttpInlet(unreachable_url, connect_timeout=0.3), unreachable_url
    if case == "timeout":
        url = server.route("/slow", [1], delay=1.0)
        return HttpInlet(url, timeout=0.3), url
    if case == "malformed json":
        url = server.route("/malformed", '{"id": 1, "title": ')
        return HttpInlet(url), url
    if case == "500":
        url = server.route("/fails", "database is down", status=500, content_type="text/plain")
        return HttpInlet(url), url
    raise AssertionError(case)


CASES = {
    # case: (error class, what the message says after "HttpInlet: GET <url>")
    "refused": (HttpConnectionError, r" failed: cannot connect to 127\.0\.0\.1:\d+: Connection refused$"),
    "unreachable": (HttpTimeoutError,
                    r" timed out: no connection to 127\.0\.0\.1:\d+ within connect_timeout=0\.3 s$"),
    "timeout": (HttpTimeoutError, r" timed out: no complete response within timeout=0\.3 s$"),
    "malformed json": (HttpDecodeError, r" returned a body that is not valid JSON \(Expecting value: line 1 "
                                        r"column 20 \(char 19\); Content-Type: application/json\); "
                                        r"the body starts: '\{\"id\": 1, \"title\": '$"),
    "500": (HttpStatusError, r" returned 500 Internal Server Error: database is down$"),
}


@pytest.mark.parametrize("case", CASES)
def test_one_clear_error_naming_the_url(case, server, refused_url, unreachable_url, collector):
    inlet, url = failing_inlet(case, server, refused_url, unreachable_url)
    error, tail = CASES[case]
    link = Link(inlet, collector, interval=1)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        link.transfer()
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, HttpError)
    message = str(caught.value)
    prefix = f"HttpInlet: GET {url}"
    assert message.startswith(prefix), message
    assert re.fullmatch(tail, message[len(prefix):]), message
    assert (caught.value.method, caught.value.url) == ("GET", url)
    assert collector.records == []


@pytest.mark.parametrize("case", CASES)
def test_a_link_ignoring_exceptions_carries_on(case, server, refused_url, unreachable_url, collector, caplog):
    bad, url = failing_inlet(case, server, refused_url, unreachable_url)
    good = HttpInlet(server.route("/good", [{"id": 1}, {"id": 2}]))
    link = Link([bad, good], collector, interval=1, ignore_exceptions=True)
    link.on_start()
    try:
        with caplog.at_level(logging.ERROR, logger="databay.Link"):
            first = link.transfer()
            second = link.transfer()
    finally:
        link.on_shutdown()
    assert (first.records_pushed, second.records_pushed) == (2, 2)
    assert collector.payloads == [{"id": 1}, {"id": 2}] * 2
    errors = [r for r in caplog.records if r.name == "databay.Link" and r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all(f"HttpInlet: GET {url}" in r.getMessage() for r in errors)


def test_the_server_recovering_is_picked_up(server, collector):
    """After a 500 the same inlet (and its connection pool) works again once the server does."""
    url = server.route("/flaky", "oops", status=503, content_type="text/plain")
    link = Link(HttpInlet(url), collector, interval=1, ignore_exceptions=True)
    link.on_start()
    try:
        assert link.transfer().records_pushed == 0
        server.route("/flaky", [{"ok": True}])
        assert link.transfer().records_pushed == 1
    finally:
        link.on_shutdown()
    assert collector.payloads == [{"ok": True}]


def test_4xx_names_status_reason_and_url(server):
    url = server.route("/secret", {"error": "token expired"}, status=401)
    with pytest.raises(HttpStatusError) as caught:
        Link(HttpInlet(url), [], interval=1).transfer()
    assert str(caught.value) == f'HttpInlet: GET {url} returned 401 Unauthorized: {{"error": "token expired"}}'
    assert (caught.value.status, caught.value.reason) == (401, "Unauthorized")


def test_a_server_closing_the_connection_mid_response_is_a_connection_error():
    """A body shorter than its Content-Length: the connection broke."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve_once():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[1, 2")
        conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/cut"
    try:
        with pytest.raises(HttpConnectionError, match=rf"^HttpInlet: GET {url} failed: "):
            Link(HttpInlet(url), [], interval=1).transfer()
    finally:
        thread.join(5)
        listener.close()


def test_errors_survive_pickling(server):
    url = server.route("/fails", "no", status=500, content_type="text/plain")
    with pytest.raises(HttpStatusError) as caught:
        Link(HttpInlet(url), [], interval=1).transfer()
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), str(copy), copy.status, copy.url) == (HttpStatusError, str(caught.value), 500, url)


class NoSuchHostLoop(asyncio.SelectorEventLoop):
    """An event loop whose host lookups all fail as they do for a name that does not exist
    (so the test sends no DNS query off this machine)."""

    async def getaddrinfo(self, host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_unknown_host_names_the_host():
    inlet = HttpInlet("http://no-such-host.invalid/data")
    loop = NoSuchHostLoop()
    try:
        with pytest.raises(HttpConnectionError) as caught:
            loop.run_until_complete(inlet.pull(Update(["t"], 0)))
    finally:
        loop.close()
    assert str(caught.value) == ("HttpInlet: GET http://no-such-host.invalid/data failed: cannot resolve host "
                                 "'no-such-host.invalid': Name or service not known")
